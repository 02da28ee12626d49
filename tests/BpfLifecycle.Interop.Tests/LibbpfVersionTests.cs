// Tests of libbpf detection: the version reported matches the installed library, and missing or old libraries
// give errors that say what to install.
namespace BpfLifecycle.Interop.Tests;

public sealed class LibbpfVersionTests
{
    [Fact]
    public void Version_matches_the_installed_shared_object()
    {
        // The mapped file is libbpf.so.<major>.<minor>.<patch> (libbpf.so.1 is a symlink to it).
        Assert.True(Libbpf.IsAvailable);
        _ = Libbpf.VersionString;
        var mapped = File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length >= 6).Select(f => Path.GetFileName(f[5])).First(n => n.StartsWith("libbpf.so.", StringComparison.Ordinal));
        var parts = mapped["libbpf.so.".Length..].Split('.');
        Assert.Equal(3, parts.Length);
        Assert.Equal(new Version(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)), Libbpf.Version);
        Assert.Equal($"v{Libbpf.Version.Major}.{Libbpf.Version.Minor}", Libbpf.VersionString);
        Assert.True(Libbpf.Version >= Libbpf.MinimumVersion);
    }

    [Fact]
    public void Missing_library_names_the_package_to_install()
    {
        var (version, error) = Libbpf.Probe("libbpf.so.1-not-installed");
        Assert.Null(version);
        Assert.Equal("libbpf.so.1-not-installed not found — install libbpf1 (e.g. apt-get install libbpf1).", error);
    }

    [Fact]
    public void Library_without_version_functions_is_refused()
    {
        var (version, error) = Libbpf.Probe("libc.so.6");
        Assert.Null(version);
        Assert.Contains("does not export libbpf_major_version", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Old_version_is_refused_naming_the_version_found()
    {
        var error = Libbpf.CheckVersion(new Version(0, 8), "libbpf.so.1");
        Assert.Equal("libbpf.so.1 is libbpf 0.8, but 1.0 or newer is required — install libbpf1 from a newer distribution release.", error);
        Assert.Null(Libbpf.CheckVersion(new Version(1, 0), "libbpf.so.1"));
        var ex = new LibbpfUnavailableException(error!, new Version(0, 8));
        Assert.Equal(new Version(0, 8), ex.FoundVersion);
        Assert.IsAssignableFrom<NotSupportedException>(ex);
    }
}
