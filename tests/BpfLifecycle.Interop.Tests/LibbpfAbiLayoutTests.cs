// Checks the libbpf and BTF struct layouts the binding declares against the installed C headers: a small C
// program built with the host compiler prints offsetof/sizeof for every field the SDK uses.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop.Native;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests;

public sealed class LibbpfAbiLayoutTests
{
    private static readonly (Type Type, string CStruct, string[] Fields, bool Truncated)[] Structs =
    [
        (typeof(bpf_object_open_opts), "struct bpf_object_open_opts", ["sz", "object_name", "relaxed_maps", "pin_root_path"], true),
        (typeof(btf_type), "struct btf_type", ["name_off", "info"], false),
        (typeof(btf_var_secinfo), "struct btf_var_secinfo", ["type", "offset", "size"], false),
    ];

    [Fact]
    public void Declared_structs_match_the_c_headers()
    {
        KernelTest.RequireTool("clang-14");
        var c = new System.Text.StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include <bpf/libbpf.h>\n#include <linux/btf.h>\nint main(void) {\n");
        foreach (var (_, cStruct, fields, _) in Structs)
        {
            c.Append($"  printf(\"{cStruct} sizeof %zu\\n\", sizeof({cStruct}));\n");
            foreach (var f in fields)
            {
                c.Append($"  printf(\"{cStruct} {f} %zu\\n\", offsetof({cStruct}, {f}));\n");
            }
        }

        // The union member after info: its offset is where size_or_type sits.
        c.Append("  printf(\"struct btf_type size_or_type %zu\\n\", offsetof(struct btf_type, size));\n  return 0;\n}\n");
        var dir = Directory.CreateTempSubdirectory("bpflc-abi-");
        try
        {
            var src = Path.Combine(dir.FullName, "layout.c");
            var exe = Path.Combine(dir.FullName, "layout");
            File.WriteAllText(src, c.ToString());
            Tool.RunChecked("clang-14", $"-I/usr/include/{RuntimeInformation.ProcessArchitecture switch { Architecture.Arm64 => "aarch64", _ => "x86_64" }}-linux-gnu", "-o", exe, src);
            var actual = Tool.RunChecked(exe).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' '))
                .ToDictionary(p => $"{p[0]} {p[1]} {p[2]}", p => int.Parse(p[3], System.Globalization.CultureInfo.InvariantCulture));

            foreach (var (type, cStruct, fields, truncated) in Structs)
            {
                var size = Marshal.SizeOf(type);
                if (truncated)
                {
                    Assert.True(size <= actual[$"{cStruct} sizeof"], $"{type.Name} is larger than {cStruct}");
                }
                else
                {
                    Assert.Equal(actual[$"{cStruct} sizeof"], size);
                }

                foreach (var f in fields)
                {
                    Assert.Equal(actual[$"{cStruct} {f}"], (int)Marshal.OffsetOf(type, f));
                }
            }

            Assert.Equal(actual["struct btf_type size_or_type"], (int)Marshal.OffsetOf<btf_type>(nameof(btf_type.size_or_type)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
