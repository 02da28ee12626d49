// Where the test binaries find the repository: its root, the committed BPF objects and the SDK's BPF headers.
namespace BpfLifecycle.TestKit;

/// <summary>Paths inside the repository the tests run from.</summary>
public static class Repository
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The repository root (the directory holding BpfLifecycle.sln), found by walking up from the test binaries.</summary>
    public static string Root => s_root.Value;

    /// <summary>The committed object <c>bpf/obj/&lt;name&gt;</c>; <paramref name="name"/> may omit the <c>.o</c>.</summary>
    public static string BpfObject(string name)
    {
        var path = Path.Combine(Root, "bpf", "obj", name.EndsWith(".o", StringComparison.Ordinal) ? name : name + ".o");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} not found; run bpf/build.sh.", path);
    }

    /// <summary>The SDK's BPF header <c>bpf/include/&lt;name&gt;</c> (e.g. <c>bpf_lifecycle.h</c>).</summary>
    public static string BpfHeader(string name)
    {
        var path = Path.Combine(Root, "bpf", "include", name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} not found.", path);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "BpfLifecycle.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No BpfLifecycle.sln above {AppContext.BaseDirectory}.");
    }
}
