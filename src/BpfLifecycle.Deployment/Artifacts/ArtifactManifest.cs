// The manifest of a deployable artifact: what the object is, how to attach it, which maps carry
// state across versions, the test vectors that must pass before traffic reaches it, and its limits.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BpfLifecycle.Deployment.Artifacts;

/// <summary>
/// <c>manifest.json</c> of an artifact directory. The detached signature (<c>manifest.json.sig</c>) covers the
/// manifest's exact bytes, and the manifest pins the object's SHA-256, so one signature protects both.
/// </summary>
public sealed record ArtifactManifest
{
    /// <summary>Artifact name (stable across versions), e.g. <c>xdp-counter</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Version label, e.g. <c>1.2.0</c>.</summary>
    public required string Version { get; init; }

    /// <summary>Source commit the object was built from.</summary>
    public string? Commit { get; init; }

    /// <summary>The ELF object.</summary>
    public required ArtifactObject Object { get; init; }

    /// <summary>Programs to deploy and where they attach.</summary>
    public required IReadOnlyList<ArtifactProgram> Programs { get; init; }

    /// <summary>Names of maps whose contents carry over from the live version to the new one.</summary>
    public IReadOnlyList<string> StateMaps { get; init; } = [];

    /// <summary>Inputs with expected verdicts, run through BPF_PROG_TEST_RUN before any traffic reaches the version.</summary>
    public IReadOnlyList<ArtifactTestVector> TestVectors { get; init; } = [];

    /// <summary>Initial values of <c>.rodata</c>/<c>.data</c> globals (name to unsigned integer), set before load.</summary>
    public IReadOnlyDictionary<string, ulong> Globals { get; init; } = new Dictionary<string, ulong>();

    /// <summary>Resource limits the version must stay within.</summary>
    public ArtifactLimits? Limits { get; init; }

    /// <summary>JSON options used to read and write manifests (camelCase, enums as strings).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };
}

/// <summary>The object file of an artifact.</summary>
/// <param name="File">File name inside the artifact directory.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of the file.</param>
public sealed record ArtifactObject(string File, string Sha256);

/// <summary>A program of the artifact and its attach points.</summary>
/// <param name="Name">Program (function) name in the object.</param>
/// <param name="Attach">Attach points as <c>kind:target</c>, e.g. <c>xdp:eth1</c>, <c>tcx-ingress:eth1</c>, <c>tracepoint:syscalls/sys_enter_openat</c>.</param>
public sealed record ArtifactProgram(string Name, IReadOnlyList<string> Attach)
{
    /// <summary>The parsed attach points.</summary>
    public IEnumerable<AttachPoint> AttachPoints => Attach.Select(AttachPoint.Parse);
}

/// <summary>An input and the verdict the program must return for it.</summary>
/// <param name="Name">Vector name for reports.</param>
/// <param name="Program">Program to run.</param>
/// <param name="InputHex">Input bytes as hex (a packet for XDP/TC/socket filters).</param>
/// <param name="ExpectedVerdict">Expected return value.</param>
public sealed record ArtifactTestVector(string Name, string Program, string InputHex, long ExpectedVerdict)
{
    /// <summary>The input bytes.</summary>
    public byte[] Input => Convert.FromHexString(InputHex);
}

/// <summary>Limits of one artifact.</summary>
/// <param name="MaxMapMemoryBytes">Map memory budget for the version, or null for the default.</param>
/// <param name="MaxCpuShare">CPU share limit (0..1), or null for the default.</param>
public sealed record ArtifactLimits(long? MaxMapMemoryBytes = null, double? MaxCpuShare = null);

/// <summary>Kinds of attach point.</summary>
public enum AttachKind
{
    /// <summary><c>xdp:&lt;ifname&gt;</c> (native mode).</summary>
    Xdp,
    /// <summary><c>xdp-generic:&lt;ifname&gt;</c> (SKB mode).</summary>
    XdpGeneric,
    /// <summary><c>tcx-ingress:&lt;ifname&gt;</c></summary>
    TcxIngress,
    /// <summary><c>tcx-egress:&lt;ifname&gt;</c></summary>
    TcxEgress,
    /// <summary><c>tracepoint:&lt;category&gt;/&lt;name&gt;</c></summary>
    Tracepoint,
    /// <summary><c>raw-tracepoint:&lt;name&gt;</c></summary>
    RawTracepoint,
    /// <summary><c>uprobe:&lt;path&gt;:&lt;symbol&gt;</c></summary>
    Uprobe,
    /// <summary><c>cgroup-skb-ingress:&lt;cgroup path&gt;</c></summary>
    CgroupSkbIngress,
    /// <summary><c>cgroup-skb-egress:&lt;cgroup path&gt;</c></summary>
    CgroupSkbEgress,
}

/// <summary>A parsed attach point such as <c>xdp:eth1</c>.</summary>
/// <param name="Kind">Kind of hook.</param>
/// <param name="Target">Interface, tracepoint, binary:symbol or cgroup path.</param>
public sealed record AttachPoint(AttachKind Kind, string Target)
{
    private static readonly Dictionary<string, AttachKind> Kinds = new(StringComparer.Ordinal)
    {
        ["xdp"] = AttachKind.Xdp,
        ["xdp-generic"] = AttachKind.XdpGeneric,
        ["tcx-ingress"] = AttachKind.TcxIngress,
        ["tcx-egress"] = AttachKind.TcxEgress,
        ["tracepoint"] = AttachKind.Tracepoint,
        ["raw-tracepoint"] = AttachKind.RawTracepoint,
        ["uprobe"] = AttachKind.Uprobe,
        ["cgroup-skb-ingress"] = AttachKind.CgroupSkbIngress,
        ["cgroup-skb-egress"] = AttachKind.CgroupSkbEgress,
    };

    /// <summary>Parses <c>kind:target</c>; the error names the accepted kinds.</summary>
    public static AttachPoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw new FormatException($"Attach point '{text}' is not of the form kind:target (kinds: {string.Join(", ", Kinds.Keys)}).");
        }

        var kind = text[..colon];
        if (!Kinds.TryGetValue(kind, out var k))
        {
            throw new FormatException($"Attach point '{text}' has unknown kind '{kind}' (kinds: {string.Join(", ", Kinds.Keys)}).");
        }

        var target = text[(colon + 1)..];
        if (k is AttachKind.Xdp or AttachKind.XdpGeneric or AttachKind.TcxIngress or AttachKind.TcxEgress && target.Length > 15)
        {
            throw new FormatException($"Attach point '{text}': interface name '{target}' is longer than 15 characters.");
        }

        if (k == AttachKind.Tracepoint && target.Split('/') is not [{ Length: > 0 }, { Length: > 0 }])
        {
            throw new FormatException($"Attach point '{text}': a tracepoint target is category/name.");
        }

        return new AttachPoint(k, target);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Kinds.First(kv => kv.Value == Kind).Key}:{Target}";
}
