// Checks the C# mirror of bpf_lifecycle.h against the header itself: a C file of _Static_assert(offsetof(...))
// generated from the C# layouts is compiled with clang for the BPF target, so any drift fails the build of it.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using BpfLifecycle.Observability.Abi;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Observability.Tests;

public sealed class AbiLayoutTests
{
    private static string Header => Repository.BpfHeader("bpf_lifecycle.h");

    private static void Struct<T>(StringBuilder c, string cName, Func<string, string>? fieldName = null, bool wholeStruct = true) where T : unmanaged
    {
        if (wholeStruct)
        {
            c.AppendLine($"_Static_assert(sizeof(struct {cName}) == {Unsafe.SizeOf<T>()}, \"sizeof {cName} is {Unsafe.SizeOf<T>()} in C#\");");
        }

        foreach (var f in typeof(T).GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public))
        {
            var name = fieldName?.Invoke(f.Name) ?? f.Name;
            var offset = Marshal.OffsetOf<T>(f.Name).ToInt32();
            c.AppendLine($"_Static_assert(__builtin_offsetof(struct {cName}, {name}) == {offset}, \"{cName}.{name} is at {offset} in C#\");");
        }
    }

    internal static string GenerateAssertions()
    {
        var c = new StringBuilder();
        c.AppendLine("#include \"bpf_lifecycle.h\"");
        Struct<BpfLcStats>(c, "bpflc_stats");
        Struct<BpfLcDispatchCounters>(c, "bpflc_dispatch_counters");
        Struct<BpfLcConfigKey>(c, "bpflc_config_key");
        // The C# header stops where msg starts; meta[2] is mirrored as meta0/meta1.
        Struct<BpfLcLogRecordHeader>(c, "bpflc_log_record", n => n switch { "meta0" => "meta[0]", "meta1" => "meta[1]", _ => n }, wholeStruct: false);
        c.AppendLine($"_Static_assert(__builtin_offsetof(struct bpflc_log_record, msg) == {Unsafe.SizeOf<BpfLcLogRecordHeader>()}, \"msg follows the fixed part\");");
        c.AppendLine($"_Static_assert(sizeof(struct bpflc_log_record) == {Unsafe.SizeOf<BpfLcLogRecordHeader>() + BpfLcAbi.LogMessageMax}, \"record size\");");
        c.AppendLine($"_Static_assert(BPFLC_LOG_HEADER_SIZE == {BpfLcAbi.LogHeaderSize}, \"header size\");");
        c.AppendLine($"_Static_assert(BPFLC_LOG_MSG_MAX == {BpfLcAbi.LogMessageMax}, \"message max\");");
        c.AppendLine($"_Static_assert(BPFLC_LOG_MAGIC == {BpfLcAbi.LogMagic}u, \"magic\");");
        c.AppendLine($"_Static_assert(BPFLC_CONFIG_KEY_MAX == {BpfLcAbi.ConfigKeyMax}, \"config key\");");
        c.AppendLine($"_Static_assert(BPFLC_ABI_VERSION == {BpfLcAbi.AbiVersion}, \"abi version\");");
        foreach (var level in Enum.GetValues<BpfLcLogLevel>())
        {
            var cLevel = "BPFLC_LEVEL_" + level.ToString().ToUpperInvariant();
            c.AppendLine($"_Static_assert({cLevel} == {(int)level}, \"{cLevel}\");");
        }

        return c.ToString();
    }

    [Fact]
    public void Csharp_mirror_matches_the_header()
    {
        KernelTest.RequireTool("clang-14");
        Assert.Equal(BpfLcAbi.LogHeaderSize, Unsafe.SizeOf<BpfLcLogRecordHeader>());
        var source = GenerateAssertions();
        Assert.Contains("meta[1]) == 40", source, StringComparison.Ordinal);
        var (code, stderr) = CompileForBpf(source);
        Assert.True(code == 0, $"clang rejected the layout assertions:\n{stderr}\n--- generated ---\n{source}");
    }

    [Fact]
    public void A_wrong_offset_is_caught_by_the_check()
    {
        // Proves the check can fail: shift one offset and the header must reject it.
        KernelTest.RequireTool("clang-14");
        var source = GenerateAssertions().Replace("bpflc_log_record, pid) == 24", "bpflc_log_record, pid) == 28", StringComparison.Ordinal);
        var (code, stderr) = CompileForBpf(source);
        Assert.NotEqual(0, code);
        Assert.Contains("bpflc_log_record.pid", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_key_is_nul_padded_ascii()
    {
        var k = BpfLcConfigKey.Create("log_sample_percent");
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<BpfLcConfigKey>(in k));
        Assert.Equal(64, bytes.Length);
        Assert.Equal("log_sample_percent", Encoding.ASCII.GetString(bytes[..18]));
        Assert.True(bytes[18..].IndexOfAnyExcept((byte)0) < 0);
        Assert.Contains("at most 63", Assert.Throws<ArgumentException>(() => BpfLcConfigKey.Create(new string('k', 64))).Message, StringComparison.Ordinal);
        Assert.Contains("not printable ASCII", Assert.Throws<ArgumentException>(() => BpfLcConfigKey.Create("bad key")).Message, StringComparison.Ordinal);
    }

    private static (int Code, string Stderr) CompileForBpf(string source)
    {
        var dir = Directory.CreateTempSubdirectory("bpflc-abi-");
        try
        {
            var file = Path.Combine(dir.FullName, "layout.c");
            File.WriteAllText(file, source);
            var arch = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant().Replace("x64", "x86_64", StringComparison.Ordinal).Replace("arm64", "aarch64", StringComparison.Ordinal);
            var (code, _, stderr) = Tool.Run("clang-14", ["-target", "bpf", "-fsyntax-only", "-Wall", "-Werror", "-I", Path.GetDirectoryName(Header)!, "-I", $"/usr/include/{arch}-linux-gnu", file]);
            return (code, stderr);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
