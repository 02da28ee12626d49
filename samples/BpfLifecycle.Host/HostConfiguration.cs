// The host's configuration lives in the "BpfLifecycle" section: the SDK's options (AddBpfLifecycle) plus the host's
// rollout defaults under BpfLifecycle:Rollout. Health thresholds have one home, BpfLifecycle:Alerts:Thresholds: the
// agent's monitor raises alerts by them and rollouts are judged by them, only with the evidence minimums of an
// observation window of seconds. Keys of the former top-level Rollout and Observability sections are refused.
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace BpfLifecycle.Host;

/// <summary>
/// The host's settings in the "BpfLifecycle:Rollout" configuration section: the strategies' defaults. The section's
/// RetainedVersions and MinimumRuns are the SDK's (<see cref="RolloutOptions"/>).
/// </summary>
internal sealed class RolloutSettings
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string SectionName = $"{BpfLifecycleOptions.SectionName}:Rollout";

    /// <summary>Longest canary step or blue-green window, in seconds (one day).</summary>
    private const double MaxSeconds = 86_400;

    /// <summary>Canary defaults for `deploy --strategy canary`.</summary>
    public CanarySettings Canary { get; set; } = new();

    /// <summary>How long blue-green observes green alone, in seconds.</summary>
    public double BlueGreenWindowSeconds { get; set; } = 10;

    /// <summary>Problems with the values, each naming its configuration key; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        var steps = Canary?.StepsPercent ?? [];
        for (var i = 0; i < steps.Count; i++)
        {
            if (!(steps[i] is >= 0.01 and <= 100))
            {
                yield return $"{SectionName}:Canary:StepsPercent:{i} must be between 0.01 and 100 (is {Text(steps[i])}).";
            }
            else if (i > 0 && steps[i] <= steps[i - 1])
            {
                yield return $"{SectionName}:Canary:StepsPercent must increase ({Text(steps[i - 1])} then {Text(steps[i])}).";
            }
        }

        foreach (var (key, seconds) in new[] { ("Canary:StepSeconds", Canary?.StepSeconds ?? 0), ("BlueGreenWindowSeconds", BlueGreenWindowSeconds) })
        {
            if (!(seconds is > 0 and <= MaxSeconds))
            {
                yield return $"{SectionName}:{key} must be more than 0 and at most {MaxSeconds} seconds (is {Text(seconds)}).";
            }
        }
    }

    private static string Text(double v) => v.ToString(CultureInfo.InvariantCulture);
}

internal sealed class CanarySettings
{
    /// <summary>Traffic shares in percent, increasing (usually ending at 100); empty: 10, 50, 100.</summary>
    public List<double> StepsPercent { get; set; } = [];

    /// <summary>Observation per step, in seconds.</summary>
    public double StepSeconds { get; set; } = 5;
}

/// <summary>Validates <see cref="RolloutSettings"/> (every rule of <see cref="RolloutSettings.Validate"/>).</summary>
internal sealed class RolloutSettingsValidator : IValidateOptions<RolloutSettings>
{
    public ValidateOptionsResult Validate(string? name, RolloutSettings options)
    {
        var problems = options.Validate().ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

/// <summary>Keys the host read before its configuration moved under "BpfLifecycle", and where each one lives now.</summary>
internal static class RetiredConfiguration
{
    /// <summary>The former top-level sections.</summary>
    public static IReadOnlyList<string> Sections { get; } = ["Rollout", "Observability"];

    private static readonly (string Old, string New)[] Moved =
    [
        ("Rollout:RetainedVersions", $"{RolloutSettings.SectionName}:RetainedVersions"),
        ("Rollout:Health:MinimumRuns", $"{RolloutSettings.SectionName}:MinimumRuns"),
        ("Rollout:Health:MaxErrorRate", "BpfLifecycle:Alerts:Thresholds:ErrorRate"),
        ("Rollout:Canary:StepsPercent", $"{RolloutSettings.SectionName}:Canary:StepsPercent"),
        ("Rollout:Canary:StepSeconds", $"{RolloutSettings.SectionName}:Canary:StepSeconds"),
        ("Rollout:BlueGreenWindowSeconds", $"{RolloutSettings.SectionName}:BlueGreenWindowSeconds"),
        ("Rollout:CpuOverhead:DefaultLimit", "BpfLifecycle:Budgets:CpuShareLimit"),
        ("Observability:PollInterval", "BpfLifecycle:Monitoring:Interval"),
        ("Observability:Health:MaxErrorRate", "BpfLifecycle:Alerts:Thresholds:ErrorRate"),
        ("Observability:Health:MaxCpuShare", "BpfLifecycle:Alerts:Thresholds:CpuShare"),
        ("Observability:Health:MaxMeanDuration", "BpfLifecycle:Alerts:Thresholds:MeanDuration"),
    ];

    /// <summary>One message per key set under a former section, naming the key and what to set instead; empty when none is.</summary>
    public static List<string> Find(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return Sections
            .SelectMany(s => configuration.GetSection(s).AsEnumerable())
            .Where(kv => kv.Value is not null)
            .Select(kv => kv.Key)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.OrdinalIgnoreCase)
            .Select(Describe)
            .ToList();
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every retired key that is set.</summary>
    public static void ThrowIfAny(IConfiguration configuration)
    {
        var problems = Find(configuration);
        if (problems.Count > 0)
        {
            throw new OptionsValidationException("retired configuration keys", typeof(RolloutSettings), problems);
        }
    }

    private static string Describe(string key)
    {
        foreach (var (old, now) in Moved)
        {
            if (key.Equals(old, StringComparison.OrdinalIgnoreCase) || key.StartsWith(old + ":", StringComparison.OrdinalIgnoreCase))
            {
                return $"{key} is no longer read: set {now}{key[old.Length..]} instead.";
            }
        }

        if (key.Equals("Rollout:CpuOverhead:SamplingKey", StringComparison.OrdinalIgnoreCase))
        {
            return $"{key} is no longer read: the CPU guard rail always lowers 'log_sample_percent' (limit: BpfLifecycle:Budgets:CpuShareLimit); remove it.";
        }

        if (key.Equals("Observability:LogDrainInterval", StringComparison.OrdinalIgnoreCase))
        {
            return $"{key} is no longer read: BPF log records are drained every second; remove it.";
        }

        return key.StartsWith("Rollout", StringComparison.OrdinalIgnoreCase)
            ? $"{key} is no longer read: rollout settings are under {RolloutSettings.SectionName} and health thresholds under BpfLifecycle:Alerts:Thresholds (docs/operations.md)."
            : $"{key} is no longer read: monitoring is set under BpfLifecycle:Monitoring and health thresholds under BpfLifecycle:Alerts:Thresholds (docs/operations.md).";
    }
}
