// Gating and hygiene for tests that touch the real kernel: root required (fail under CI=true,
// skip elsewhere), and a check that a test leaves no BPF file descriptor open.
using BpfLifecycle.Interop;
using Xunit;

namespace BpfLifecycle.TestKit;

/// <summary>Decides whether kernel tests can run here.</summary>
public static class KernelTest
{
    /// <summary>True when running under CI (<c>CI=true</c>): kernel tests must run and never skip.</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    private static readonly Lazy<string?> s_unavailable = new(Probe);

    /// <summary>Skips (developer machine) or fails (CI) the current test when the kernel cannot be used.</summary>
    public static void Require()
    {
        if (s_unavailable.Value is { } reason)
        {
            if (IsCi)
            {
                Assert.Fail($"Kernel test cannot run under CI=true: {reason}");
            }

            Assert.Skip($"Kernel test skipped: {reason}");
        }
    }

    /// <summary>Fails or skips unless a command-line tool exists (see <see cref="Tool.Find"/>).</summary>
    public static void RequireTool(string tool)
    {
        Require();
        if (Tool.Find(tool) is null)
        {
            if (IsCi)
            {
                Assert.Fail($"Kernel test needs '{tool}', which is not installed.");
            }

            Assert.Skip($"'{tool}' is not installed.");
        }
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux";
        }

        if (Environment.UserName != "root" && GetEuid() != 0)
        {
            return "not running as root";
        }

        if (!File.ReadLines("/proc/mounts").Any(l => l.Split(' ') is [_, "/sys/fs/bpf", "bpf", ..]))
        {
            return "bpffs is not mounted at /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)";
        }

        try
        {
            using var m = Bpf.MapCreate(new BpfMapSpec("probe", BpfMapType.Array, 4, 4, 1));
        }
        catch (Exception e)
        {
            return $"bpf(2) is unusable: {e.Message}";
        }

        return null;
    }

    private static uint GetEuid()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                var parts = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
                return uint.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return uint.MaxValue;
    }
}

/// <summary>The BPF-related descriptors (maps, programs, links, perf events, stats) this process has open.</summary>
public static class BpfFds
{
    /// <summary>Maps each open BPF-related fd to its kind.</summary>
    public static Dictionary<int, string> Snapshot()
        => Where(target => target.StartsWith("anon_inode:bpf", StringComparison.Ordinal) || target.Contains("perf_event", StringComparison.Ordinal));

    /// <summary>Maps every fd that points at an anonymous inode (bpf-map, bpf-prog, btf, ...) to its kind.</summary>
    public static Dictionary<int, string> AnonymousInodes()
        => Where(target => target.StartsWith("anon_inode:", StringComparison.Ordinal));

    private static Dictionary<int, string> Where(Func<string, bool> keep)
    {
        var result = new Dictionary<int, string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(entry).LinkTarget;
            }
            catch (IOException)
            {
                continue;
            }

            if (target is not null && keep(target))
            {
                result[int.Parse(Path.GetFileName(entry), System.Globalization.CultureInfo.InvariantCulture)] = target;
            }
        }

        return result;
    }
}

/// <summary>
/// Base class for kernel tests: requires the kernel on construction and, on dispose, fails the test if it left
/// BPF descriptors open. Test assemblies that use it disable in-assembly parallelism so the count is the test's own.
/// </summary>
public abstract class KernelTestBase : IDisposable
{
    private readonly Dictionary<int, string> _before;
    private readonly List<Action> _cleanups = new();

    /// <summary>Requires the kernel and takes the descriptor snapshot.</summary>
    protected KernelTestBase()
    {
        KernelTest.Require();
        _before = BpfFds.Snapshot();
    }

    /// <summary>Registers an action to run at the end of the test, even when it fails (last registered runs first).</summary>
    protected void Defer(Action cleanup) => _cleanups.Add(cleanup);

    /// <summary>Registers a disposable to dispose at the end of the test.</summary>
    protected T Track<T>(T disposable) where T : IDisposable
    {
        _cleanups.Add(disposable.Dispose);
        return disposable;
    }

    /// <summary>A fresh directory under /sys/fs/bpf removed (with its pins) at the end of the test.</summary>
    protected string NewPinDirectory()
    {
        var dir = Path.Combine("/sys/fs/bpf", "bpflc-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        Defer(() => { if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); } });
        return dir;
    }

    /// <summary>A fresh directory under the system temporary directory, removed (with its contents) at the end of the test.</summary>
    protected string NewTempDirectory()
    {
        var dir = Directory.CreateTempSubdirectory("bpflc-test-").FullName;
        Defer(() => { if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); } });
        return dir;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        List<Exception> errors = new();
        for (var i = _cleanups.Count - 1; i >= 0; i--)
        {
            try
            {
                _cleanups[i]();
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        }

        _cleanups.Clear();
        GC.SuppressFinalize(this);
        var after = BpfFds.Snapshot();
        var leaked = after.Where(kv => !_before.ContainsKey(kv.Key)).Select(kv => $"fd {kv.Key} ({kv.Value})").ToList();
        if (errors.Count > 0)
        {
            throw new AggregateException("Test cleanup failed", errors);
        }

        if (leaked.Count > 0)
        {
            Assert.Fail($"The test leaked {leaked.Count} BPF descriptor(s): {string.Join(", ", leaked)}");
        }
    }
}
