// Perf-event and raw tracepoint links on real kernel events: tracepoints, raw tracepoints, uprobes; kprobes' feature error.
using System.Runtime.InteropServices;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests.Links;

public sealed partial class TracingLinkTests : KernelTestBase
{
    [LibraryImport("libc", EntryPoint = "getpid")]
    private static partial int GetPid();

    [LibraryImport("libc", EntryPoint = "getppid")]
    private static partial int GetPPid();

    [Fact]
    public void Tracepoint_program_counts_real_syscalls_of_this_process()
    {
        TestEnvironment.EnsureTracefs();
        using var counters = new Counters();
        using var prog = counters.LoadCounter(BpfProgramType.Tracepoint, 0, 0, pid: Environment.ProcessId);
        using (var link = BpfAttach.Tracepoint(prog, "syscalls", "sys_enter_getppid"))
        {
            Assert.Equal(BpfLinkType.PerfEvent, link.Type);
            Assert.Equal(BpfPerfEventType.Tracepoint, link.Info.PerfEventType);
            Assert.Equal(Bpf.GetProgramInfo(prog).Id, link.ProgramId);
            for (var i = 0; i < 100; i++)
            {
                Assert.True(GetPPid() > 0);
            }

            Assert.InRange(counters[0], 100UL, 110UL);
        }

        // Closing the link closed its perf event too (the fd-leak check covers it) and stopped the counting.
        var afterClose = counters[0];
        for (var i = 0; i < 20; i++)
        {
            Assert.True(GetPPid() > 0);
        }

        Assert.Equal(afterClose, counters[0]);
    }

    [Fact]
    public void Pinned_tracepoint_link_keeps_firing_after_its_descriptors_and_perf_event_are_closed_and_refuses_updates()
    {
        TestEnvironment.EnsureTracefs();
        var pin = Path.Combine(NewPinDirectory(), "tp_link");
        using var counters = new Counters();
        using var prog = counters.LoadCounter(BpfProgramType.Tracepoint, 0, 0, pid: Environment.ProcessId);
        using var replacement = counters.LoadCounter(BpfProgramType.Tracepoint, 1, 0, pid: Environment.ProcessId);
        using (var link = BpfAttach.Tracepoint(prog, "syscalls", "sys_enter_getppid"))
        {
            link.Pin(pin);
        }

        for (var i = 0; i < 10; i++)
        {
            Assert.True(GetPPid() > 0);
        }

        Assert.InRange(counters[0], 10UL, 15UL);
        using (var reopened = BpfLink.FromPin(pin))
        {
            Assert.Equal(BpfLinkType.PerfEvent, reopened.Type);
            Assert.Equal(BpfPerfEventType.Tracepoint, reopened.Info.PerfEventType);
            var ex = Assert.Throws<BpfException>(() => reopened.Update(replacement, expectedOld: prog));
            Assert.Contains("PerfEvent links cannot change their program", ex.Message, StringComparison.Ordinal);
            reopened.Unpin(pin);
        }

        // The pin and every descriptor are gone: the kernel detached the program.
        var before = counters[0];
        for (var i = 0; i < 10; i++)
        {
            Assert.True(GetPPid() > 0);
        }

        Assert.Equal(before, counters[0]);
        Assert.Equal(0UL, counters[1]);
    }

    [Fact]
    public void Missing_tracepoint_is_named_in_the_error()
    {
        TestEnvironment.EnsureTracefs();
        using var counters = new Counters();
        using var prog = counters.LoadCounter(BpfProgramType.Tracepoint, 0, 0);
        var ex = Assert.Throws<ArgumentException>(() => BpfAttach.Tracepoint(prog, "syscalls", "sys_enter_no_such_call").Dispose());
        Assert.Contains("no tracepoint 'syscalls/sys_enter_no_such_call'", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => BpfAttach.Tracepoint(prog, "..", "x").Dispose());
    }

    [Fact]
    public void Raw_tracepoint_sys_enter_fires_and_reports_its_name()
    {
        using var counters = new Counters();
        using var prog = counters.LoadCounter(BpfProgramType.RawTracepoint, 0, 0, pid: Environment.ProcessId);
        using var link = BpfAttach.RawTracepoint(prog, "sys_enter");
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(Environment.ProcessId, GetPid());
        }

        Assert.True(counters[0] >= 50, $"sys_enter counted {counters[0]} syscalls, expected at least 50");
        var info = link.Info;
        Assert.Equal(BpfLinkType.RawTracepoint, info.Type);
        Assert.Equal("sys_enter", info.TracepointName);
        Assert.Contains("sys_enter", link.Target, StringComparison.Ordinal);

        var missing = Assert.Throws<BpfException>(() => BpfAttach.RawTracepoint(prog, "no_such_raw_tp").Dispose());
        Assert.Equal(Errno.ENOENT, missing.Errno);
        Assert.Contains("no raw tracepoint named 'no_such_raw_tp'", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Uprobe_and_uretprobe_on_a_compiled_program_count_every_call()
    {
        var binary = await CompileProbeTargetAsync();
        using var counters = new Counters();
        using var entryProg = counters.LoadCounter(BpfProgramType.Kprobe, 0, 0, name: "t_uprobe");
        using var returnProg = counters.LoadCounter(BpfProgramType.Kprobe, 1, 0, name: "t_uretprobe");
        using var byOffsetProg = counters.LoadCounter(BpfProgramType.Kprobe, 2, 0, name: "t_uprobe_off");
        var offset = ElfSymbols.FindFunctionOffset(binary, "bpflc_probe_target");

        using (var entry = BpfAttach.Uprobe(entryProg, binary, "bpflc_probe_target"))
        using (var ret = BpfAttach.Uprobe(returnProg, binary, "bpflc_probe_target", retprobe: true))
        using (var byOffset = BpfAttach.Uprobe(byOffsetProg, binary, offset))
        {
            Assert.Equal(BpfPerfEventType.Uprobe, entry.Info.PerfEventType);
            Assert.Equal(BpfPerfEventType.Uretprobe, ret.Info.PerfEventType);
            var (code, output) = await Tool.RunAsync(binary, ["37"], TestContext.Current.CancellationToken);
            Assert.True(code == 0, output);
        }

        Assert.Equal(37UL, counters[0]);
        Assert.Equal(37UL, counters[1]);
        Assert.Equal(37UL, counters[2]);
    }

    [Fact]
    public void Uprobe_on_libc_getpid_fires_for_this_process()
    {
        var libc = File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(p => p.Length >= 6 && Path.GetFileName(p[5]).StartsWith("libc.so", StringComparison.Ordinal)).Select(p => p[5]).First();
        using var counters = new Counters();
        using var prog = counters.LoadCounter(BpfProgramType.Kprobe, 0, 0, name: "t_uprobe_libc");
        using (var link = BpfAttach.Uprobe(prog, libc, "getpid", pid: Environment.ProcessId))
        {
            for (var i = 0; i < 64; i++)
            {
                Assert.Equal(Environment.ProcessId, GetPid());
            }
        }

        Assert.True(counters[0] >= 64, $"getpid uprobe counted {counters[0]} calls, expected at least 64");
    }

    [Fact]
    public void Uprobe_on_a_missing_symbol_names_symbol_and_file()
    {
        using var counters = new Counters();
        using var prog = counters.LoadCounter(BpfProgramType.Kprobe, 0, 0);
        var ex = Assert.Throws<ArgumentException>(() => BpfAttach.Uprobe(prog, "/bin/true", "bpflc_no_such_function").Dispose());
        Assert.Contains("'/bin/true' defines no function named 'bpflc_no_such_function'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kprobe_fails_with_a_feature_error_when_the_kernel_has_no_kprobe_pmu()
    {
        using var counters = new Counters();
        using var prog = counters.LoadCounter(BpfProgramType.Kprobe, 0, 0);
        if (Directory.Exists("/sys/bus/event_source/devices/kprobe"))
        {
            using var link = BpfAttach.Kprobe(prog, "do_sys_openat2");
            Assert.Equal(BpfPerfEventType.Kprobe, link.Info.PerfEventType);
            return;
        }

        var ex = Assert.Throws<BpfFeatureNotSupportedException>(() => BpfAttach.Kprobe(prog, "do_sys_openat2").Dispose());
        Assert.Equal("kprobe PMU", ex.Feature);
        Assert.Contains("kprobe PMU", ex.Message, StringComparison.Ordinal);
        Assert.Contains("do_sys_openat2", ex.Message, StringComparison.Ordinal);
    }

    private async Task<string> CompileProbeTargetAsync()
    {
        KernelTest.RequireTool("cc");
        var dir = Directory.CreateTempSubdirectory("bpflc-uprobe-");
        Defer(() => dir.Delete(recursive: true));
        var source = Path.Combine(dir.FullName, "target.c");
        File.WriteAllText(source, """
            #include <stdlib.h>
            __attribute__((noinline)) int bpflc_probe_target(int x) { __asm__ volatile("" ::: "memory"); return x + 1; }
            int main(int argc, char **argv) { int n = argc > 1 ? atoi(argv[1]) : 0, s = 0; for (int i = 0; i < n; i++) s = bpflc_probe_target(s); return s == n ? 0 : 1; }
            """);
        var binary = Path.Combine(dir.FullName, "target");
        var (code, output) = await Tool.RunAsync("cc", ["-O1", "-o", binary, source], TestContext.Current.CancellationToken);
        Assert.True(code == 0, $"cc failed: {output}");
        return binary;
    }
}
