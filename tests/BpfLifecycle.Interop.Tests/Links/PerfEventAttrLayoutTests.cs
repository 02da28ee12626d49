// Checks the managed perf_event_attr against the C compiler's view of <linux/perf_event.h>.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop.Native;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests.Links;

public sealed class PerfEventAttrLayoutTests
{
    private static readonly string[] Fields =
    [
        "type", "size", "config", "sample_period", "sample_type", "read_format", "wakeup_events", "bp_type", "config1",
        "config2", "branch_sample_type", "sample_regs_user", "sample_stack_user", "clockid", "sample_regs_intr",
        "aux_watermark", "sample_max_stack", "aux_sample_size", "sig_data",
    ];

    [Fact]
    public async Task Offsets_and_size_match_the_uapi_header()
    {
        KernelTest.RequireTool("cc");
        var dir = Directory.CreateTempSubdirectory("bpflc-layout-");
        try
        {
            var source = Path.Combine(dir.FullName, "layout.c");
            var lines = string.Join("\n", Fields.Select(f => $"    printf(\"{f} %zu\\n\", offsetof(struct perf_event_attr, {f}));"));
            File.WriteAllText(source, $"#include <stdio.h>\n#include <stddef.h>\n#include <linux/perf_event.h>\nint main(void) {{\n{lines}\n    printf(\"sizeof %zu\\n\", sizeof(struct perf_event_attr));\n    return 0;\n}}\n");
            var binary = Path.Combine(dir.FullName, "layout");
            var (cc, ccOut) = await Tool.RunAsync("cc", ["-o", binary, source], TestContext.Current.CancellationToken);
            Assert.True(cc == 0, ccOut);
            var (_, output) = await Tool.RunAsync(binary, [], TestContext.Current.CancellationToken);
            var c = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));

            foreach (var field in Fields)
            {
                Assert.True(c[field] == (int)Marshal.OffsetOf<perf_event_attr>(field), $"offset of {field}: C {c[field]}, managed {Marshal.OffsetOf<perf_event_attr>(field)}");
            }

            // The installed header may be older than the kernel (6.1 ends at sig_data; config3 follows it in 6.3+).
            Assert.Equal(c["sizeof"] == 128 ? 128 : c["sizeof"] - 8, (int)Marshal.OffsetOf<perf_event_attr>("config3"));
            Assert.True(Marshal.SizeOf<perf_event_attr>() >= c["sizeof"], $"sizeof: C {c["sizeof"]}, managed {Marshal.SizeOf<perf_event_attr>()}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
