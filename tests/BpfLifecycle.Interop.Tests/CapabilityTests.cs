// Capability sets, requirements of BPF operations, and real drops (in a child process, since they cannot be undone).
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests;

public sealed class CapabilitySetTests
{
    [Theory]
    [InlineData(Capability.NetAdmin, 12, "CAP_NET_ADMIN")]
    [InlineData(Capability.NetRaw, 13, "CAP_NET_RAW")]
    [InlineData(Capability.SysAdmin, 21, "CAP_SYS_ADMIN")]
    [InlineData(Capability.SysResource, 24, "CAP_SYS_RESOURCE")]
    [InlineData(Capability.Perfmon, 38, "CAP_PERFMON")]
    [InlineData(Capability.Bpf, 39, "CAP_BPF")]
    [InlineData(Capability.DacReadSearch, 2, "CAP_DAC_READ_SEARCH")]
    [InlineData(Capability.SysTtyConfig, 26, "CAP_SYS_TTY_CONFIG")]
    [InlineData(Capability.CheckpointRestore, 40, "CAP_CHECKPOINT_RESTORE")]
    public void Capabilities_have_kernel_numbers_and_names(Capability capability, int number, string name)
    {
        Assert.Equal(number, (int)capability);
        Assert.Equal(name, capability.ToKernelName());
        Assert.Equal(capability, CapabilityNames.Parse(name));
        Assert.Equal(capability, CapabilityNames.Parse(name[4..].ToLowerInvariant()));
        Assert.Equal(capability, CapabilityNames.Parse(number.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Sets_parse_format_and_combine()
    {
        var set = CapabilitySet.Parse("CAP_BPF, cap_net_admin");
        Assert.Equal((1UL << 39) | (1UL << 12), set.Mask);
        Assert.Equal("CAP_NET_ADMIN,CAP_BPF", set.ToString());
        Assert.Equal("0000008000001000", set.ToHex());
        Assert.Equal(set, CapabilitySet.FromHex("0000008000001000"));
        Assert.Equal(2, set.Count);
        Assert.True(set.ContainsAll(CapabilitySet.Of(Capability.Bpf)));
        Assert.False(set.Contains(Capability.Perfmon));
        Assert.Equal(CapabilitySet.Of(Capability.Bpf), set.Without(Capability.NetAdmin));
        Assert.Equal(CapabilitySet.Of(Capability.NetAdmin), set.Except(CapabilitySet.Of(Capability.Bpf, Capability.Perfmon)));
        Assert.Equal(CapabilitySet.Empty, CapabilitySet.Parse("none"));
        Assert.Equal("(none)", CapabilitySet.Empty.ToString());
        var ex = Assert.Throws<FormatException>(() => CapabilitySet.Parse("CAP_BPF,CAP_FLY"));
        Assert.Contains("'CAP_FLY'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(BpfOperation.CreateMap, "CAP_BPF")]
    [InlineData(BpfOperation.LoadSocketFilter, "CAP_BPF")]
    [InlineData(BpfOperation.LoadCgroupSkb, "CAP_BPF")]
    [InlineData(BpfOperation.LoadXdp, "CAP_NET_ADMIN,CAP_BPF")]
    [InlineData(BpfOperation.LoadTc, "CAP_NET_ADMIN,CAP_BPF")]
    [InlineData(BpfOperation.LoadTracepoint, "CAP_PERFMON,CAP_BPF")]
    [InlineData(BpfOperation.LoadRawTracepoint, "CAP_PERFMON,CAP_BPF")]
    [InlineData(BpfOperation.LoadUprobe, "CAP_PERFMON,CAP_BPF")]
    [InlineData(BpfOperation.EnumerateObjects, "CAP_SYS_ADMIN")]
    [InlineData(BpfOperation.EnableStats, "CAP_SYS_ADMIN")]
    public void Operations_name_what_they_need_and_sys_admin_satisfies_all(BpfOperation operation, string needs)
    {
        var req = Capabilities.Required(operation);
        Assert.Equal(CapabilitySet.Parse(needs), req.AllOf);
        Assert.True(req.IsSatisfiedBy(req.AllOf));
        Assert.True(req.IsSatisfiedBy(CapabilitySet.Of(Capability.SysAdmin)));
        Assert.Equal(req.AllOf, req.MissingFrom(CapabilitySet.Empty));
        Assert.Contains(needs, req.ToString(), StringComparison.Ordinal);
        if (req.AllOf.Count > 1)
        {
            var partial = CapabilitySet.Of(Capability.Bpf);
            Assert.False(req.IsSatisfiedBy(partial));
            Assert.Equal(req.AllOf.Without(Capability.Bpf), req.MissingFrom(partial));
        }
    }
}

public sealed class CapabilityTests : KernelTestBase
{
    [Fact]
    public void Current_reads_the_calling_threads_sets_as_the_kernel_reports_them()
    {
        var state = Capabilities.Current();
        Assert.Equal(Capabilities.CurrentThreadId(), state.ThreadId);
        var status = File.ReadAllLines($"/proc/self/task/{state.ThreadId}/status")
            .Where(l => l.StartsWith("Cap", StringComparison.Ordinal))
            .ToDictionary(l => l[..6], l => CapabilitySet.FromHex(l[7..]));
        Assert.Equal(status["CapEff"], state.Effective);
        Assert.Equal(status["CapPrm"], state.Permitted);
        Assert.Equal(status["CapInh"], state.Inheritable);
        Assert.Equal(status["CapBnd"], state.Bounding);
        Assert.Equal(status["CapAmb"], state.Ambient);
        Assert.Equal(state, Capabilities.OfThread(state.ThreadId));
        Assert.True(state.Effective.Contains(Capability.SysAdmin), "kernel tests run as root");
        Assert.True(Capabilities.Missing(BpfOperation.LoadXdp).IsEmpty);
        Assert.Throws<ArgumentException>(() => Capabilities.OfThread(int.MaxValue));
    }

    [Fact]
    public void Dropping_to_cap_bpf_keeps_maps_and_socket_filters_but_refuses_xdp_and_tracepoints()
    {
        var r = RunProbe("CAP_BPF");
        Assert.Equal("0000008000000000", r["thread.eff"]);
        Assert.Equal("0000008000000000", r["thread.prm"]);
        Assert.Equal("0000000000000000", r["thread.inh"]);
        Assert.Equal("CAP_BPF", r["thread.names"]);
        Assert.Equal(r["thread.eff"], r["status.CapEff"]);
        Assert.Equal(r["thread.prm"], r["status.CapPrm"]);
        Assert.Equal(r["thread.tid"], r["op.tid"]);
        Assert.Equal("ok", r["map"]);
        Assert.Equal("ok", r["socket_filter"]);
        Assert.Equal("EPERM", r["xdp"]);
        Assert.Equal("EPERM", r["tracepoint"]);
        Assert.Equal("EPERM", r["enumerate"]);
        Assert.Equal("EPERM", r["stats"]);
        Assert.Equal("(none)", r["missing.map"]);
        Assert.Equal("CAP_NET_ADMIN", r["missing.xdp"]);
        Assert.Equal("CAP_PERFMON", r["missing.tracepoint"]);
        Assert.Equal("refused", r["regain"]);
    }

    [Fact]
    public void Adding_cap_net_admin_allows_xdp()
    {
        var r = RunProbe("CAP_BPF,CAP_NET_ADMIN");
        Assert.Equal("CAP_NET_ADMIN,CAP_BPF", r["thread.names"]);
        Assert.Equal("ok", r["map"]);
        Assert.Equal("ok", r["xdp"]);
        Assert.Equal("EPERM", r["tracepoint"]);
        Assert.Equal("(none)", r["missing.xdp"]);
        Assert.Equal("kept", r["regain"]);
    }

    [Fact]
    public void Drop_applies_to_the_calling_thread_and_threads_it_starts_not_to_existing_threads()
    {
        var r = RunProbe("CAP_BPF");
        Assert.Equal(r["thread.eff"], r["spawned.eff"]);
        // The thread started before the drop still has the full set: capset is per thread.
        Assert.Equal(r["before.eff"], r["bystander.eff"]);
        Assert.NotEqual(r["thread.eff"], r["bystander.eff"]);
    }

    [Fact]
    public void Cap_sys_admin_alone_satisfies_every_bpf_check()
    {
        var r = RunProbe("CAP_SYS_ADMIN");
        Assert.Equal("CAP_SYS_ADMIN", r["thread.names"]);
        foreach (var op in new[] { "map", "socket_filter", "xdp", "tracepoint", "stats", "enumerate" })
        {
            Assert.True(r[op] == "ok", $"{op}: {r[op]}");
        }

        Assert.Equal("(none)", r["missing.xdp"]);
        Assert.Equal("(none)", r["missing.tracepoint"]);
    }

    [Fact]
    public void Dropping_everything_refuses_even_maps()
    {
        var r = RunProbe("none");
        Assert.Equal("0000000000000000", r["thread.eff"]);
        Assert.Equal("EPERM", r["map"]);
        Assert.Equal("CAP_BPF", r["missing.map"]);
    }

    private static Dictionary<string, string> RunProbe(string keep)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "BpfLifecycle.CapsProbe.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the test project references BpfLifecycle.CapsProbe so it is built next to the tests.");
        var dotnetRoot = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var host = Path.Combine(dotnetRoot, "dotnet");
        var (code, stdout, stderr) = Tool.Run(File.Exists(host) ? host : "dotnet", [dll, "--keep", keep], TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"probe exited with {code}: {stderr}{stdout}");
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1]);
    }
}
