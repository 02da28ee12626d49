// Feature probes against the running kernel (expectations from the measured kernel facts of the project's machines).
using BpfLifecycle.Interop;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests;

public sealed class FeatureTests : KernelTestBase
{
    [Theory]
    [InlineData(BpfProgramType.Xdp)]
    [InlineData(BpfProgramType.SocketFilter)]
    [InlineData(BpfProgramType.Tracepoint)]
    [InlineData(BpfProgramType.RawTracepoint)]
    [InlineData(BpfProgramType.CgroupSkb)]
    [InlineData(BpfProgramType.SchedCls)]
    [InlineData(BpfProgramType.Kprobe)]
    [InlineData(BpfProgramType.CgroupSockAddr)]
    [InlineData(BpfProgramType.Syscall)]
    [InlineData(BpfProgramType.Netfilter)]
    [InlineData(BpfProgramType.StructOps)]
    public void Program_types_this_kernel_loads_are_reported_supported(BpfProgramType type)
    {
        var status = BpfFeatures.ProgramType(type);
        Assert.True(status.IsSupported, status.Detail);
        Assert.Equal($"program type {type}", status.Feature);
        BpfFeatures.Require(type);
    }

    [Theory]
    [InlineData(BpfProgramType.Tracing)]
    [InlineData(BpfProgramType.Ext)]
    [InlineData(BpfProgramType.Lsm)]
    public void Fentry_freplace_and_lsm_are_reported_unsupported(BpfProgramType type)
    {
        var status = BpfFeatures.ProgramType(type);
        Assert.False(status.IsSupported, status.Detail);
        Assert.Equal(Errno.EPERM, status.Errno);
        Assert.Contains("holds the capabilities", status.Detail, StringComparison.Ordinal);
        var ex = Assert.Throws<BpfFeatureNotSupportedException>(() => BpfFeatures.Require(type));
        Assert.Equal($"program type {type}", ex.Feature);
        Assert.Equal(Errno.EPERM, ex.Errno);
        Assert.Contains($"does not support program type {type}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_program_type_is_unsupported_with_einval()
    {
        var status = BpfFeatures.ProgramType((BpfProgramType)999);
        Assert.False(status.IsSupported);
        Assert.Equal(Errno.EINVAL, status.Errno);
    }

    [Theory]
    [InlineData(BpfMapType.Hash)]
    [InlineData(BpfMapType.Array)]
    [InlineData(BpfMapType.PerCpuArray)]
    [InlineData(BpfMapType.LruHash)]
    [InlineData(BpfMapType.LpmTrie)]
    [InlineData(BpfMapType.ProgArray)]
    [InlineData(BpfMapType.Queue)]
    [InlineData(BpfMapType.BloomFilter)]
    [InlineData(BpfMapType.ArrayOfMaps)]
    [InlineData(BpfMapType.HashOfMaps)]
    [InlineData(BpfMapType.RingBuf)]
    [InlineData(BpfMapType.CgroupStorage)]
    public void Map_types_are_probed_by_creating_one(BpfMapType type)
    {
        var status = BpfFeatures.MapType(type);
        Assert.True(status.IsSupported, status.Detail);
        BpfFeatures.Require(type);
    }

    [Fact]
    public void Map_types_needing_btf_and_unknown_types_are_explained()
    {
        var ex = Assert.Throws<ArgumentException>(() => BpfFeatures.MapType(BpfMapType.SkStorage));
        Assert.Contains("without BTF", ex.Message, StringComparison.Ordinal);
        var unknown = BpfFeatures.MapType((BpfMapType)999);
        Assert.False(unknown.IsSupported);
        Assert.Equal(Errno.EINVAL, unknown.Errno);
        Assert.Throws<BpfFeatureNotSupportedException>(() => BpfFeatures.Require((BpfMapType)999));
    }

    [Fact]
    public void Kprobe_pmu_is_missing_and_uprobe_pmu_present()
    {
        var kprobe = BpfFeatures.Probe(BpfFeature.KprobePmu);
        Assert.False(kprobe.IsSupported);
        Assert.Contains("/sys/bus/event_source/devices/kprobe", kprobe.Detail, StringComparison.Ordinal);
        var ex = Assert.Throws<BpfFeatureNotSupportedException>(() => BpfFeatures.Require(BpfFeature.KprobePmu));
        Assert.Equal("kprobe PMU", ex.Feature);
        Assert.True(BpfFeatures.Probe(BpfFeature.UprobePmu).IsSupported);
        BpfFeatures.Require(BpfFeature.UprobePmu);
    }

    [Fact]
    public void Token_tcx_and_ring_buffer_are_present_on_this_kernel()
    {
        var token = BpfFeatures.Probe(BpfFeature.Token);
        Assert.True(token.IsSupported, token.Detail);
        Assert.Equal(Errno.EBADF, token.Errno);
        var tcx = BpfFeatures.Probe(BpfFeature.Tcx);
        Assert.True(tcx.IsSupported, tcx.Detail);
        Assert.Contains("version check", tcx.Detail, StringComparison.Ordinal);
        Assert.True(BpfFeatures.KernelVersion >= new Version(6, 6));
        var ring = BpfFeatures.Probe(BpfFeature.RingBuffer);
        Assert.True(ring.IsSupported, ring.Detail);
        Assert.Equal("ring buffer", ring.Feature);
    }

    [Fact]
    public void Results_are_cached()
    {
        Assert.Same(BpfFeatures.ProgramType(BpfProgramType.Xdp), BpfFeatures.ProgramType(BpfProgramType.Xdp));
        Assert.Same(BpfFeatures.MapType(BpfMapType.Hash), BpfFeatures.MapType(BpfMapType.Hash));
        Assert.Same(BpfFeatures.Probe(BpfFeature.RingBuffer), BpfFeatures.Probe(BpfFeature.RingBuffer));
        Assert.Same(BpfFeatures.Probe(BpfFeature.KprobePmu), BpfFeatures.Probe(BpfFeature.KprobePmu));
    }

    [Theory]
    [InlineData("6.18.44-fc-v669", 6, 18, 44)]
    [InlineData("6.6.0", 6, 6, 0)]
    [InlineData("5.15.0-91-generic\n", 5, 15, 0)]
    [InlineData("6.9-rc1", 6, 9, 0)]
    public void Kernel_release_parses(string release, int major, int minor, int patch)
        => Assert.Equal(new Version(major, minor, patch), BpfFeatures.ParseKernelRelease(release));
}
