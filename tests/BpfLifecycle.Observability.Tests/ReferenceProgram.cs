// Loads bpf/obj/lifecycle_xdp.o (the reference program built on bpf_lifecycle.h) through the SDK's libbpf binding,
// with its version id and error rate set in .rodata, and drives it with BPF_PROG_TEST_RUN.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;
using BpfLifecycle.Observability.Abi;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Observability.Tests;

/// <summary>One loaded copy of lifecycle_xdp.o with the handles the monitor needs.</summary>
internal sealed class ReferenceProgram : IDisposable
{
    private readonly LoadedBpfObject _loaded;

    public ReferenceProgram(ulong versionId, uint errorEvery = 0)
    {
        using var file = BpfObjectFile.Open(Repository.BpfObject("lifecycle_xdp"));
        file.SetGlobal(BpfLcAbi.VersionIdGlobal, versionId);
        file.SetGlobal("error_every", errorEvery);
        _loaded = file.Load();
    }

    public BpfProgramHandle Program => _loaded.GetProgram("lifecycle_xdp");
    public BpfMapHandle Stats => _loaded.GetMap(BpfLcAbi.StatsMapName);
    public BpfMapHandle Logs => _loaded.GetMap(BpfLcAbi.LogRingMapName);
    public BpfMapHandle Config => _loaded.GetMap(BpfLcAbi.ConfigMapName);
    public BpfMapHandle Packets => _loaded.GetMap("packets");

    public void SetConfig(string key, ulong value)
    {
        var k = BpfLcConfigKey.Create(key);
        Bpf.MapUpdate(Config, MemoryMarshal.AsBytes(new ReadOnlySpan<BpfLcConfigKey>(in k)), MemoryMarshal.AsBytes(new ReadOnlySpan<ulong>(in value)));
    }

    /// <summary>Runs the program <paramref name="times"/> times on a 64-byte frame through BPF_PROG_TEST_RUN.</summary>
    public BpfTestRunResult Run(uint times)
    {
        Span<byte> packet = stackalloc byte[64];
        packet[12] = 0x08; // IPv4 ethertype: a plausible frame
        return Bpf.TestRun(Program, packet, Span<byte>.Empty, times);
    }

    public void Dispose() => _loaded.Dispose();
}
