// `config get|set`: runtime configuration read by programs through bpflc_config_get(), changed without reloading.
// A value is written to the bpflc_config map of every retained version, so a rollback or a canary sees the same values.
using System.Globalization;
using BpfLifecycle.Deployment.RuntimeConfig;
using BpfLifecycle.Deployment.State;
using BpfLifecycle.Host.Lifecycle;

namespace BpfLifecycle.Host.Commands;

internal sealed class ConfigCommands(ApplicationLifecycle app, HostPaths paths, TextWriter output)
{
    public int Get(string key)
    {
        var maps = ConfigMapPaths().ToList();
        if (maps.Count == 0)
        {
            output.WriteLine($"application '{paths.Application}' has no loaded version with a {RuntimeConfigMap.MapName} map");
            return ExitCodes.NotFound;
        }

        using var map = RuntimeConfigMap.OpenOrCreate(maps[0].Path);
        if (!map.TryGet(key, out var value))
        {
            output.WriteLine($"{key}: not set (programs use their default)");
            return ExitCodes.NotFound;
        }

        output.WriteLine($"{key} = {value.ToString(CultureInfo.InvariantCulture)}");
        return ExitCodes.Success;
    }

    public int Set(string key, string value)
    {
        if (!ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            throw new ArgumentException($"config value '{value}' is not an unsigned integer.");
        }

        var maps = ConfigMapPaths().ToList();
        if (maps.Count == 0)
        {
            output.WriteLine($"application '{paths.Application}' has no loaded version with a {RuntimeConfigMap.MapName} map");
            return ExitCodes.NotFound;
        }

        foreach (var (versionId, path) in maps)
        {
            using var map = RuntimeConfigMap.OpenOrCreate(path, app.Audit);
            map.Set(key, number, "operator", $"version {versionId.ToString(CultureInfo.InvariantCulture)}");
        }

        output.WriteLine($"{key} = {number.ToString(CultureInfo.InvariantCulture)} (versions {string.Join(", ", maps.Select(m => m.VersionId))})");
        return ExitCodes.Success;
    }

    /// <summary>The pinned config maps of the versions still loaded, the active one first.</summary>
    private IEnumerable<(long VersionId, string Path)> ConfigMapPaths() =>
        app.Manager.GetVersions()
            .Where(v => v.Status is VersionStatus.Active or VersionStatus.Pending or VersionStatus.Inactive)
            .OrderBy(v => v.Status == VersionStatus.Active ? 0 : 1)
            .Select(v => (v.Id, Path: Path.Combine(paths.PinDirectory, "versions", v.Id.ToString(CultureInfo.InvariantCulture), "maps", RuntimeConfigMap.MapName)))
            .Where(m => File.Exists(m.Path));
}
