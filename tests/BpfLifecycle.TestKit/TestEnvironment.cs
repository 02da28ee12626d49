// Host facilities some kernel tests need beyond bpffs: tracefs for tracepoint ids and a cgroup v2 directory.
using Xunit;

namespace BpfLifecycle.TestKit;

/// <summary>Prepares tracefs and cgroup v2 for tests that attach to tracepoints and cgroups.</summary>
public static class TestEnvironment
{
    private static readonly Lock s_lock = new();

    /// <summary>Mounts tracefs at /sys/kernel/tracing when neither it nor the debugfs copy is mounted (tracepoint ids live there).</summary>
    public static void EnsureTracefs()
    {
        lock (s_lock)
        {
            if (Directory.Exists("/sys/kernel/tracing/events") || Directory.Exists("/sys/kernel/debug/tracing/events"))
            {
                return;
            }

            var (code, output) = Tool.Run("mount", ["-t", "tracefs", "tracefs", "/sys/kernel/tracing"]);
            if (code != 0)
            {
                Assert.Fail($"tracefs is not mounted and mounting it failed: {output}");
            }
        }
    }

    /// <summary>The mount point of the cgroup v2 hierarchy (e.g. /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts).</summary>
    public static string CgroupV2Root()
    {
        foreach (var line in File.ReadLines("/proc/mounts"))
        {
            var parts = line.Split(' ');
            if (parts.Length > 2 && parts[2] == "cgroup2")
            {
                return parts[1];
            }
        }

        Assert.Fail("No cgroup v2 hierarchy is mounted.");
        return string.Empty;
    }
}

/// <summary>A uniquely named cgroup v2 directory, removed on dispose (after moving any process it holds back to the root).</summary>
public sealed class TestCgroup : IDisposable
{
    /// <summary>Creates the directory under the cgroup v2 root.</summary>
    public TestCgroup()
    {
        Root = TestEnvironment.CgroupV2Root();
        Path = System.IO.Path.Combine(Root, "bpflc-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    /// <summary>The cgroup v2 mount point.</summary>
    public string Root { get; }

    /// <summary>The cgroup directory.</summary>
    public string Path { get; }

    /// <summary>The cgroup id (its directory's inode number), as cgroup links report it.</summary>
    public ulong Id => GetInode(Path);

    /// <inheritdoc />
    public void Dispose()
    {
        var procs = System.IO.Path.Combine(Path, "cgroup.procs");
        if (File.Exists(procs))
        {
            foreach (var pid in File.ReadAllLines(procs).Where(l => l.Length > 0))
            {
                try
                {
                    File.WriteAllText(System.IO.Path.Combine(Root, "cgroup.procs"), pid);
                }
                catch (IOException)
                {
                    // The process exited meanwhile.
                }
            }
        }

        if (Directory.Exists(Path))
        {
            // A cgroup directory is removed with rmdir even though it lists control files.
            Directory.Delete(Path);
        }
    }

    private static ulong GetInode(string path)
    {
        var (code, output) = Tool.Run("stat", ["-c", "%i", path]);
        return code == 0 ? ulong.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture) : throw new InvalidOperationException($"stat {path}: {output}");
    }
}
