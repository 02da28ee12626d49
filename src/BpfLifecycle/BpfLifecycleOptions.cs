// The configuration of a BpfLifecycle host, in the shape of its production configuration
// (appsettings.json section "BpfLifecycle", overridable by environment variables BpfLifecycle__...).
using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace BpfLifecycle;

/// <summary>Root options: the application, its programs, alerts, monitoring, security and budgets.</summary>
public sealed class BpfLifecycleOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "BpfLifecycle";

    /// <summary>Application name: names the pin directory, state directory and metrics. Letters, digits, '-', '_', '.'.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", ErrorMessage = "Application must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.")]
    public string Application { get; set; } = string.Empty;

    /// <summary>bpffs directory under which the application's pins live (<c>&lt;PinRoot&gt;/&lt;Application&gt;</c>). Default <c>/sys/fs/bpf/bpflifecycle</c>.</summary>
    [Required]
    public string PinRoot { get; set; } = "/sys/fs/bpf/bpflifecycle";

    /// <summary>Directory for artifacts, registry and journal. Default <c>/var/lib/bpflifecycle</c>.</summary>
    [Required]
    public string StateDirectory { get; set; } = "/var/lib/bpflifecycle";

    /// <summary>Programs by name.</summary>
    public Dictionary<string, ProgramOptions> Programs { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Alert thresholds and channels.</summary>
    [ValidateObjectMembers]
    public AlertingOptions Alerts { get; set; } = new();

    /// <summary>Monitoring endpoint and interval.</summary>
    [ValidateObjectMembers]
    public MonitoringOptions Monitoring { get; set; } = new();

    /// <summary>Signatures, capabilities, audit, redaction, sealing keys.</summary>
    [ValidateObjectMembers]
    public SecurityOptions Security { get; set; } = new();

    /// <summary>Resource budgets.</summary>
    [ValidateObjectMembers]
    public BudgetOptions Budgets { get; set; } = new();

    /// <summary>Rollouts: versions kept for rollback and the evidence a rollout decision needs.</summary>
    [ValidateObjectMembers]
    public RolloutOptions Rollout { get; set; } = new();

    /// <summary>The application's pin directory.</summary>
    public string PinDirectory => Path.Combine(PinRoot, Application);
}

/// <summary>One program's settings.</summary>
public sealed class ProgramOptions
{
    /// <summary>Whether the program is deployed. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Initial sampling rate in percent (written to runtime config as <c>log_sample_percent</c>). Default 100.</summary>
    [Range(0, 100)]
    public int SamplingPercent { get; set; } = 100;

    /// <summary>Attach points as <c>kind:target</c>, e.g. <c>xdp:eth1</c>.</summary>
    public List<string> AttachPoints { get; set; } = [];

    /// <summary>Filters the program applies (written to runtime config by the host).</summary>
    [ValidateObjectMembers]
    public ProgramFilterOptions Filters { get; set; } = new();

    /// <summary>Resource limits of this program (each at most the application's budgets).</summary>
    [ValidateObjectMembers]
    public ProgramLimitOptions Limits { get; set; } = new();
}

/// <summary>Filters of a program.</summary>
public sealed class ProgramFilterOptions
{
    /// <summary>Process ids to trace (empty: all).</summary>
    public List<int> Pids { get; set; } = [];

    /// <summary>System call names to trace (empty: all).</summary>
    public List<string> Syscalls { get; set; } = [];
}

/// <summary>Limits of a program.</summary>
public sealed class ProgramLimitOptions
{
    /// <summary>Map memory budget in bytes, or null for <see cref="BudgetOptions.PerProgramBytes"/>.</summary>
    [Range(1L, long.MaxValue)]
    public long? MaxMapMemoryBytes { get; set; }

    /// <summary>CPU share limit (0..1], or null for <see cref="BudgetOptions.CpuShareLimit"/>.</summary>
    [Range(0.0001, 1.0)]
    public double? MaxCpuShare { get; set; }
}

/// <summary>Alerting.</summary>
public sealed class AlertingOptions
{
    /// <summary>Thresholds that raise alerts.</summary>
    [ValidateObjectMembers]
    public AlertThresholdOptions Thresholds { get; set; } = new();

    /// <summary>Where alerts go. Default: the log.</summary>
    public List<AlertChannelOptions> Channels { get; set; } = [];
}

/// <summary>Alert thresholds.</summary>
public sealed class AlertThresholdOptions
{
    /// <summary>Error rate (0..1) above which a version is unhealthy. Default 0.01.</summary>
    [Range(0.0, 1.0)]
    public double ErrorRate { get; set; } = 0.01;

    /// <summary>CPU share (0..1) above which a version is unhealthy. Default 0.05.</summary>
    [Range(0.0001, 1.0)]
    public double CpuShare { get; set; } = 0.05;

    /// <summary>Mean run duration above which a version is unhealthy. Default 1 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.000001", "00:01:00")]
    public TimeSpan MeanDuration { get; set; } = TimeSpan.FromMilliseconds(1);
}

/// <summary>Kinds of alert channel.</summary>
public enum AlertChannelType
{
    /// <summary>The application log (ILogger).</summary>
    Log,
    /// <summary>An HTTP webhook (JSON POST).</summary>
    Webhook,
}

/// <summary>One alert channel.</summary>
public sealed class AlertChannelOptions
{
    /// <summary>Channel kind.</summary>
    public AlertChannelType Type { get; set; } = AlertChannelType.Log;

    /// <summary>Webhook URL (for <see cref="AlertChannelType.Webhook"/>).</summary>
    public Uri? Url { get; set; }
}

/// <summary>
/// Rollouts. A rollout is judged by the same thresholds as the monitor's alerts (<see cref="AlertingOptions.Thresholds"/>);
/// only the evidence differs: a strategy's observation window (a canary step, a blue-green window) lasts seconds, so a
/// verdict needs <see cref="MinimumRuns"/> runs and no minimum time, and a failed critical rule rolls back before that.
/// </summary>
public sealed class RolloutOptions
{
    /// <summary>Versions kept loaded for fast rollback, the active one included. Default 3.</summary>
    [Range(1, 100)]
    public int RetainedVersions { get; set; } = 3;

    /// <summary>Runs an observation window needs before a healthy verdict. Default 20.</summary>
    [Range(1L, long.MaxValue)]
    public long MinimumRuns { get; set; } = Deployment.Health.RolloutHealthRules.DefaultMinimumRuns;
}

/// <summary>Monitoring.</summary>
public sealed class MonitoringOptions
{
    /// <summary>TCP port of the metrics endpoint the host exposes (e.g. Prometheus), or 0 for none. Default 9464.</summary>
    [Range(0, 65535)]
    public int Port { get; set; } = 9464;

    /// <summary>How often kernel statistics are read. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Security settings.</summary>
public sealed class SecurityOptions
{
    /// <summary>Accept artifacts without a signature (each one is audited). Default false: a signature is required.</summary>
    public bool AllowUnsigned { get; set; }

    /// <summary>Trusted public keys.</summary>
    [ValidateEnumeratedItems]
    public List<TrustedKeyOptions> TrustedKeys { get; set; } = [];

    /// <summary>A directory whose <c>*.pem</c>/<c>*.pub</c> files are trusted (key id: file name without extension).</summary>
    public string? TrustedKeyDirectory { get; set; }

    /// <summary>Capabilities kept after setup (kernel names), e.g. <c>CAP_BPF</c>, <c>CAP_NET_ADMIN</c>.</summary>
    public List<string> KeepCapabilities { get; set; } = [];

    /// <summary>Audit log.</summary>
    [ValidateObjectMembers]
    public AuditOptions Audit { get; set; } = new();

    /// <summary>Redaction of events before they are logged.</summary>
    public RedactionSettings Redaction { get; set; } = new();

    /// <summary>Directory of <c>&lt;id&gt;.key</c> AES-256 keys for sealed maps, or null when no map is sealed.</summary>
    public string? SealingKeyDirectory { get; set; }
}

/// <summary>A trusted key: a PEM file or inline PEM.</summary>
public sealed class TrustedKeyOptions
{
    /// <summary>Key id.</summary>
    [Required]
    public string Id { get; set; } = string.Empty;

    /// <summary>Path of a PEM public key file.</summary>
    public string? Path { get; set; }

    /// <summary>Inline PEM public key.</summary>
    public string? Pem { get; set; }
}

/// <summary>Audit log settings.</summary>
public sealed class AuditOptions
{
    /// <summary>Path of the hash-chained JSON lines file. Default <c>/var/log/bpflifecycle/audit.jsonl</c>.</summary>
    [Required]
    public string Path { get; set; } = "/var/log/bpflifecycle/audit.jsonl";

    /// <summary>File holding the HMAC key for hashing sensitive data, or null for plain SHA-256.</summary>
    public string? SensitiveHashKeyFile { get; set; }
}

/// <summary>Redaction settings.</summary>
public sealed class RedactionSettings
{
    /// <summary>Extra regular expressions to remove.</summary>
    public List<string> Patterns { get; set; } = [];

    /// <summary>Extra environment variable names (with <c>*</c> wildcards) whose values are removed.</summary>
    public List<string> SensitiveEnvironmentVariables { get; set; } = [];

    /// <summary>Replace user names in home paths. Default true.</summary>
    public bool RedactUserPaths { get; set; } = true;
}

/// <summary>Resource budgets.</summary>
public sealed class BudgetOptions
{
    /// <summary>Map memory per deployed version. Default 100 MiB.</summary>
    [Range(1L, long.MaxValue)]
    public long PerProgramBytes { get; set; } = Deployment.Budgets.ResourceBudgetOptions.DefaultPerProgramBytes;

    /// <summary>Map memory of the whole application. Default 1 GiB.</summary>
    [Range(1L, long.MaxValue)]
    public long PerApplicationBytes { get; set; } = Deployment.Budgets.ResourceBudgetOptions.DefaultPerApplicationBytes;

    /// <summary>Programs the application may own. Default 100.</summary>
    [Range(1, 100_000)]
    public int MaxPrograms { get; set; } = 100;

    /// <summary>System-wide program limit, or null for none.</summary>
    [Range(1, int.MaxValue)]
    public int? MaxSystemPrograms { get; set; }

    /// <summary>Release unreferenced pinned maps when over the application budget. Default true.</summary>
    public bool EvictUnreferencedMaps { get; set; } = true;

    /// <summary>Clean up programs whose run count has not moved for this long, or null to keep them. Default null.</summary>
    public TimeSpan? IdleProgramTimeout { get; set; }

    /// <summary>Default CPU share limit per program (0..1]. Default 0.05.</summary>
    [Range(0.0001, 1.0)]
    public double CpuShareLimit { get; set; } = 0.05;
}

/// <summary>Attribute-driven validation of <see cref="BpfLifecycleOptions"/> (source generated).</summary>
[OptionsValidator]
public sealed partial class BpfLifecycleOptionsValidator : IValidateOptions<BpfLifecycleOptions>
{
}
