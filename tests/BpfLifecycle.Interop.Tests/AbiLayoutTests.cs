// Checks every kernel ABI struct of the Interop layer against the RUNNING kernel: the kernel's BTF is dumped to a
// vmlinux.h, a C file of _Static_asserts (one offset and one size check per field, from Marshal.OffsetOf) is
// generated and compiled with -fsyntax-only. A failing assert names the struct and field.
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using BpfLifecycle.Interop;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests;

public sealed partial class AbiLayoutTests : KernelTestBase
{
    private const string NativeNamespace = "BpfLifecycle.Interop.Native";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);

    // Our struct name -> the member of union bpf_attr it mirrors, where the name alone does not say it.
    private static readonly Dictionary<string, string> s_attrMembers = new(StringComparer.Ordinal)
    {
        ["bpf_prog_test_run_attr"] = "test",
        ["bpf_map_batch_attr"] = "batch",
        ["bpf_obj_info_attr"] = "info",
        ["bpf_prog_query_attr"] = "query",
    };

    [Fact]
    public void Every_abi_struct_matches_the_running_kernels_layout()
    {
        var (dir, header) = DumpVmlinuxHeader();
        var structs = AbiStructs();
        Assert.Contains(structs, t => t.Name == "bpf_prog_load_attr");
        Assert.Contains(structs, t => t.Name == "bpf_prog_info");

        var checks = new StringBuilder();
        var count = 0;
        foreach (var type in structs)
        {
            count += EmitChecks(type, header, checks);
        }

        var errors = Compile(dir, checks.ToString());
        Assert.True(errors.Count == 0, $"{errors.Count} layout mismatch(es) with the running kernel:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
        Assert.True(count > 150, $"only {count} checks were generated");
    }

    [Fact]
    public void A_wrong_offset_fails_the_check_and_names_the_field()
    {
        var (dir, _) = DumpVmlinuxHeader();
        var errors = Compile(dir, Assertion("union bpf_attr", "test.ctx_out", 57, "bpf_prog_test_run_attr.ctx_out (deliberately wrong)", size: null));
        var error = Assert.Single(errors);
        Assert.Contains("bpf_prog_test_run_attr.ctx_out", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Fd_leak_check_detects_an_undisposed_map()
    {
        var before = BpfFds.Snapshot();
        var map = Bpf.MapCreate(new BpfMapSpec("t_leak", BpfMapType.Array, 4, 4, 1));
        try
        {
            var during = BpfFds.Snapshot();
            var added = during.Keys.Except(before.Keys).ToList();
            Assert.Equal([map.Fd], added);
            Assert.Equal("anon_inode:bpf-map", during[map.Fd]);
        }
        finally
        {
            map.Dispose();
        }

        Assert.Equal(before.Keys.Order(), BpfFds.Snapshot().Keys.Order());
    }

    // libbpf's user-space structs are not kernel ABI; LibbpfAbiLayoutTests checks them against libbpf's headers.
    private static readonly HashSet<string> LibbpfStructs = new(StringComparer.Ordinal) { "bpf_object_open_opts" };

    private static List<Type> AbiStructs() => typeof(Bpf).Assembly.GetTypes()
        .Where(t => t.Namespace == NativeNamespace && t.IsValueType && !t.IsEnum && t.Name.StartsWith("bpf_", StringComparison.Ordinal))
        .Where(t => !LibbpfStructs.Contains(t.Name))
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToList();

    /// <summary>Emits the checks of one struct; returns how many.</summary>
    private static int EmitChecks(Type type, string header, StringBuilder sb)
    {
        string cType, prefix;
        string body;

        // The kernel ignores zeroed bytes past its own struct, so only the fields must lie inside it; trailing
        // padding of an explicit size does not.
        var fieldsEnd = type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Where(f => !f.Name.StartsWith('_'))
            .Max(f => Marshal.OffsetOf(type, f.Name).ToInt32() + Marshal.SizeOf(f.FieldType));
        if (type.Name.EndsWith("_attr", StringComparison.Ordinal))
        {
            cType = "union bpf_attr";
            var union = Body(header, "union bpf_attr");
            var member = s_attrMembers.GetValueOrDefault(type.Name) ?? type.Name["bpf_".Length..^"_attr".Length];
            var named = NamedMembers(union);
            if (named.TryGetValue(member, out var memberBody))
            {
                prefix = member + ".";
                body = memberBody;
                sb.AppendLine(Assertion(cType, member, 0, $"{type.Name} ({member})", size: null, sizeAtLeast: fieldsEnd));
            }
            else
            {
                // One of the anonymous members: its fields are reachable by their own (unique) names.
                prefix = string.Empty;
                body = union;
                sb.AppendLine(CultureInvariant($"_Static_assert(sizeof(union bpf_attr) >= {fieldsEnd}, \"{type.Name}: C# fields end at byte {fieldsEnd}, past the end of union bpf_attr\");"));
            }
        }
        else
        {
            cType = "struct " + type.Name;
            prefix = string.Empty;
            body = Body(header, cType);
            sb.AppendLine(CultureInvariant($"_Static_assert(sizeof({cType}) >= {fieldsEnd}, \"{type.Name}: C# fields end at byte {fieldsEnd}, past the end of the kernel's struct\");"));
        }

        var count = 1;
        string? previous = null;
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).OrderBy(f => Marshal.OffsetOf(type, f.Name).ToInt32()))
        {
            if (field.Name.StartsWith('_'))
            {
                continue; // explicit padding
            }

            var offset = Marshal.OffsetOf(type, field.Name).ToInt32();
            var size = Marshal.SizeOf(field.FieldType);
            var designator = prefix + Designator(field.Name, body);
            var label = $"{type.Name}.{field.Name}";
            if (IsBitfield(body, field.Name))
            {
                // offsetof cannot take a bit-field: check that its storage unit starts where the previous field ends.
                Assert.True(previous is not null, $"{label}: a bit-field cannot be the first field");
                sb.AppendLine($"_Static_assert(__builtin_offsetof({cType}, {previous}) + sizeof((({cType} *)0)->{previous}) == {offset}, \"{label}: C# offset {offset}, the kernel's bit-field word is elsewhere\");");
            }
            else
            {
                sb.AppendLine(Assertion(cType, designator, offset, label, size));
            }

            previous = designator;
            count++;
        }

        return count;
    }

    private static string Assertion(string cType, string designator, int offset, string label, int? size, int? sizeAtLeast = null)
    {
        var s = new StringBuilder();
        s.Append(CultureInvariant($"_Static_assert(__builtin_offsetof({cType}, {designator}) == {offset}, \"{label}: C# offset {offset} differs from the kernel's\");"));
        if (size is { } n)
        {
            s.Append(CultureInvariant($"\n_Static_assert(sizeof((({cType} *)0)->{designator}) == {n}, \"{label}: C# size {n} differs from the kernel's\");"));
        }

        if (sizeAtLeast is { } m)
        {
            s.Append(CultureInvariant($"\n_Static_assert(sizeof((({cType} *)0)->{designator}) >= {m}, \"{label}: C# fields end at byte {m}, past the end of the kernel's member\");"));
        }

        return s.ToString();
    }

    private static string CultureInvariant(FormattableString s) => FormattableString.Invariant(s);

    /// <summary>
    /// The C designator of a field. Flattened names of nested members (<c>tcx_relative_fd</c> for
    /// <c>tcx.relative_fd</c>) are resolved against the names of the nested members in the kernel's definition.
    /// </summary>
    private static string Designator(string field, string body)
    {
        var nested = NamedMembers(body);
        var best = nested.Keys.Where(n => field.StartsWith(n + "_", StringComparison.Ordinal)).OrderByDescending(n => n.Length).FirstOrDefault();
        return best is null ? field : best + "." + Designator(field[(best.Length + 1)..], nested[best]);
    }

    private static bool IsBitfield(string body, string field)
        => Regex.IsMatch(body, $@"\b{Regex.Escape(field)}\s*:\s*\d+\s*;");

    /// <summary>The text between the braces of <c>struct X {</c> / <c>union X {</c> in the header.</summary>
    private static string Body(string header, string cType)
    {
        var start = header.IndexOf($"\n{cType} {{", StringComparison.Ordinal);
        Assert.True(start >= 0, $"{cType} is not in the running kernel's BTF");
        var open = header.IndexOf('{', start);
        return header[(open + 1)..MatchingBrace(header, open)];
    }

    private static int MatchingBrace(string text, int open)
    {
        var depth = 0;
        for (var i = open; i < text.Length; i++)
        {
            if (text[i] == '{')
            {
                depth++;
            }
            else if (text[i] == '}' && --depth == 0)
            {
                return i;
            }
        }

        throw new InvalidOperationException("Unbalanced braces in vmlinux.h");
    }

    /// <summary>Named struct/union members of a body (members of anonymous ones are promoted, as C does), with their bodies.</summary>
    private static Dictionary<string, string> NamedMembers(string body)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] != '{')
            {
                continue;
            }

            var close = MatchingBrace(body, i);
            var inner = body[(i + 1)..close];
            var semicolon = body.IndexOf(';', close);
            var name = body[(close + 1)..semicolon].Trim();
            if (name.Length == 0)
            {
                foreach (var kv in NamedMembers(inner))
                {
                    result.TryAdd(kv.Key, kv.Value);
                }
            }
            else if (IdentifierRegex().IsMatch(name))
            {
                result.TryAdd(name, inner);
            }

            i = close;
        }

        return result;
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex IdentifierRegex();

    private (string Dir, string Header) DumpVmlinuxHeader()
    {
        var bpftool = Tool.Find("bpftool");
        if (bpftool is null)
        {
            KernelTest.RequireTool("bpftool"); // fails under CI, skips elsewhere
            throw new InvalidOperationException("unreachable: bpftool is missing");
        }

        Assert.True(File.Exists("/sys/kernel/btf/vmlinux"), "/sys/kernel/btf/vmlinux is missing: the kernel has no BTF");
        var dir = NewTempDirectory();
        var (code, stdout, stderr) = Tool.Run(bpftool, ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"], CommandTimeout);
        Assert.True(code == 0, $"bpftool btf dump failed ({code}): {stderr}");
        File.WriteAllText(Path.Combine(dir, "vmlinux.h"), stdout);
        return (dir, stdout);
    }

    private static List<string> Compile(string dir, string checks)
    {
        var compiler = new[] { "cc", "clang-14", "clang", "gcc" }.Select(Tool.Find).FirstOrDefault(t => t is not null);
        Assert.True(compiler is not null, "No C compiler (cc, clang-14, clang, gcc) is installed; scripts/setup.sh installs clang-14.");
        var file = Path.Combine(dir, "abi_check.c");
        File.WriteAllText(file, "#include \"vmlinux.h\"\n" + checks + "\n");
        var (code, _, stderr) = Tool.Run(compiler!, ["-fsyntax-only", "-w", "-DBPF_NO_PRESERVE_ACCESS_INDEX", "-I", dir, file], CommandTimeout);
        var errors = stderr.Split('\n')
            .Where(l => l.Contains("error", StringComparison.Ordinal))
            .Select(l => l.Trim())
            .ToList();
        if (code != 0 && errors.Count == 0)
        {
            errors.Add($"{compiler} failed ({code}): {stderr}");
        }

        return errors;
    }
}
