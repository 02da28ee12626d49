// Where one application's state lives: its name, its state directory and its bpffs pin directory.
// Global options (--app, --state-dir, --pin-root) override appsettings.json so two applications never share state.
namespace BpfLifecycle.Host;

/// <summary>The host's reading of the "BpfLifecycle" section: only the places, to resolve the global options against.</summary>
internal sealed class HostSettings
{
    public string Application { get; set; } = "default";

    /// <summary>Parent of per-application state directories.</summary>
    public string StateDirectory { get; set; } = "/var/lib/bpflifecycle";

    /// <summary>Parent of per-application pin directories on bpffs.</summary>
    public string PinRoot { get; set; } = "/sys/fs/bpf/bpflifecycle";
}

/// <summary>
/// The resolved locations of one application: its state lives in <c>StateRoot/Application</c> and its pins in
/// <c>PinRoot/Application</c>, so --app alone isolates applications and --state-dir/--pin-root move the roots.
/// </summary>
internal sealed record HostPaths(string Application, string StateRoot, string PinRoot)
{
    public string StateDirectory => Path.Combine(StateRoot, Application);

    public string PinDirectory => Path.Combine(PinRoot, Application);

    public string AuditLogPath => Path.Combine(StateDirectory, "audit.log");

    /// <summary>Held by the application's agent (`bpflc run`) while it runs; holds its pid.</summary>
    public string AgentLockPath => Path.Combine(StateDirectory, "agent.lock");

    public static HostPaths Resolve(HostSettings settings, string? app, string? stateDir, string? pinRoot)
    {
        var application = string.IsNullOrWhiteSpace(app) ? settings.Application : app;
        ValidateName(application);
        var pins = Path.GetFullPath(pinRoot ?? settings.PinRoot);
        return new HostPaths(application, Path.GetFullPath(stateDir ?? settings.StateDirectory), pins);
    }

    public HostPaths WithApplication(string application)
    {
        ValidateName(application);
        return this with { Application = application };
    }

    private static void ValidateName(string name)
    {
        if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ArgumentException($"Application name '{name}' is invalid: use 1-64 letters, digits, '-' or '_'.");
        }
    }
}
