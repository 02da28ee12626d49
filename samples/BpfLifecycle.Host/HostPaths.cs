// Where one application's state lives: its name, its state directory and its bpffs pin directory.
// Global options (--app, --state-dir, --pin-root) override appsettings.json so two applications never share state.
namespace BpfLifecycle.Host;

/// <summary>Settings of the "BpfLifecycle" configuration section.</summary>
internal sealed class HostSettings
{
    public string Application { get; set; } = "default";

    /// <summary>Parent of per-application state directories.</summary>
    public string StateDirectory { get; set; } = "/var/lib/bpflifecycle";

    /// <summary>Parent of per-application pin directories on bpffs.</summary>
    public string PinRoot { get; set; } = "/sys/fs/bpf/bpflifecycle";
}

/// <summary>The resolved locations of one application.</summary>
internal sealed record HostPaths(string Application, string StateDirectory, string PinDirectory)
{
    /// <summary>
    /// Resolves the paths: an explicit --state-dir / --pin-root is used as given (it already isolates the application);
    /// otherwise the configured parent directory gets the application name appended.
    /// </summary>
    public static HostPaths Resolve(HostSettings settings, string? app, string? stateDir, string? pinRoot)
    {
        var application = string.IsNullOrWhiteSpace(app) ? settings.Application : app;
        ValidateName(application);
        var state = stateDir ?? Path.Combine(settings.StateDirectory, application);
        var pins = pinRoot ?? Path.Combine(settings.PinRoot, application);
        return new HostPaths(application, Path.GetFullPath(state), Path.GetFullPath(pins));
    }

    private static void ValidateName(string name)
    {
        if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || name.StartsWith('.'))
        {
            throw new ArgumentException($"Application name '{name}' is invalid: use 1-64 letters, digits, '-', '_' or '.', not starting with '.'.");
        }
    }
}
