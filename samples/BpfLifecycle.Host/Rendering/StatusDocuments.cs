// The JSON documents of `status --json` and `versions --json`: a stable shape for scripts, independent of the SDK's types.
using System.Text.Json;
using System.Text.Json.Serialization;
using BpfLifecycle.Deployment;
using BpfLifecycle.Deployment.State;

namespace BpfLifecycle.Host.Rendering;

internal sealed record DeploymentDocument(
    string Application,
    string? Program,
    IReadOnlyList<string> AttachPoints,
    string? Strategy,
    long? ActiveVersionId,
    long? CandidateVersionId,
    double CanarySharePercent,
    ProgramIdsDocument ProgramIds,
    IReadOnlyDictionary<string, uint> LinkIds,
    HealthDocument? Health,
    string? PendingPhase)
{
    public static DeploymentDocument From(DeploymentStatus s) => new(
        s.Application, s.Program, s.AttachPoints, s.Strategy, s.ActiveVersionId, s.CandidateVersionId, s.CanaryBasisPoints / 100.0,
        new ProgramIdsDocument(s.ActiveProgramId, s.CandidateProgramId, s.DispatcherProgramId), s.LinkIds,
        s.Health is { } h ? new HealthDocument(h.Verdict.ToString(), h.Candidate.Runs, h.Candidate.Errors, h.Candidate.ErrorRate, h.Candidate.MeanDurationNs,
            h.Failures.Select(f => f.Explanation).ToList(), h.EvaluatedAt) : null,
        s.PendingPhase?.ToString());
}

internal sealed record ProgramIdsDocument(uint? Active, uint? Candidate, uint? Dispatcher);

internal sealed record HealthDocument(string Verdict, long Runs, long Errors, double ErrorRate, double MeanDurationNs, IReadOnlyList<string> Failures, DateTimeOffset EvaluatedAt);

internal sealed record VersionDocument(long Id, string Name, string Version, string? Commit, DateTimeOffset DeployedAt, string Status, string ArtifactSha256, uint? ProgramId, string? Reason)
{
    public static VersionDocument From(VersionRecord v) => new(v.Id, v.Name, v.Label, v.Commit, v.DeployedAt, v.Status.ToString(), v.ArtifactSha256, v.ProgramId, v.Reason);
}

internal static class Json
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
