using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests;

public sealed class MapAndProgramTests : KernelTestBase
{
    [Fact]
    public void Hash_map_update_lookup_delete_follow_kernel_semantics()
    {
        using var map = Bpf.MapCreate(new BpfMapSpec("t_hash", BpfMapType.Hash, 4, 8, 16));
        Span<byte> key = stackalloc byte[4];
        Span<byte> value = stackalloc byte[8];
        BitConverter.TryWriteBytes(key, 7);
        Assert.False(Bpf.MapLookup(map, key, value));
        BitConverter.TryWriteBytes(value, 42UL);
        Bpf.MapUpdate(map, key, value, BpfUpdateFlags.NoExist);
        var ex = Assert.Throws<BpfException>(() => Bpf.MapUpdate(map, new byte[] { 7, 0, 0, 0 }, new byte[8], BpfUpdateFlags.NoExist));
        Assert.Equal(Errno.EEXIST, ex.Errno);
        Assert.Contains("BPF_MAP_UPDATE_ELEM", ex.Message, StringComparison.Ordinal);
        value.Clear();
        Assert.True(Bpf.MapLookup(map, key, value));
        Assert.Equal(42UL, BitConverter.ToUInt64(value));
        Assert.True(Bpf.MapDelete(map, key));
        Assert.False(Bpf.MapDelete(map, key));
        var info = Bpf.GetMapInfo(map);
        Assert.Equal(("t_hash", BpfMapType.Hash, 4u, 8u, 16u), (info.Name, info.Type, info.KeySize, info.ValueSize, info.MaxEntries));
    }

    [Fact]
    public void Xdp_program_loads_and_reports_info()
    {
        using var prog = Bpf.ProgramLoad(new BpfProgramSpec("t_pass", BpfProgramType.Xdp, new BpfAssembler().Return(2).Build()));
        var info = Bpf.GetProgramInfo(prog);
        Assert.Equal("t_pass", info.Name);
        Assert.Equal(BpfProgramType.Xdp, info.Type);
        Assert.True(info.Id > 0);
        Assert.Equal(16, info.Tag.Length);
    }

    [Fact]
    public void Verifier_rejection_carries_the_log()
    {
        // Reads r2 before it is written: the verifier refuses with "R2 !read_ok".
        var insns = new BpfAssembler().Mov64(BpfRegister.R0, BpfRegister.R2).Exit().Build();
        var ex = Assert.Throws<BpfVerifierException>(() => Bpf.ProgramLoad(new BpfProgramSpec("t_bad", BpfProgramType.Xdp, insns)));
        Assert.Equal(Errno.EACCES, ex.Errno);
        Assert.Contains("R2 !read_ok", ex.VerifierLog, StringComparison.Ordinal);
        Assert.Contains("R2 !read_ok", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Small_log_buffer_is_retried_with_the_size_the_kernel_asks_for()
    {
        var insns = new BpfAssembler().Mov64(BpfRegister.R0, 2).Mov64(BpfRegister.R1, 1).Alu64(BpfAluOp.Add, BpfRegister.R1, 1).Exit().Build();
        using var prog = Bpf.ProgramLoad(new BpfProgramSpec("t_log", BpfProgramType.Xdp, insns), new BpfProgramLoadOptions { LogLevel = 2, LogSize = 128 }, out var log);
        Assert.Contains("processed", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Pinned_map_survives_closing_and_reopens()
    {
        var dir = NewPinDirectory();
        var path = Path.Combine(dir, "m");
        using (var map = Bpf.MapCreate(new BpfMapSpec("t_pin", BpfMapType.Array, 4, 8, 4)))
        {
            Bpf.MapUpdate(map, new byte[4], BitConverter.GetBytes(99UL));
            Bpf.Pin(map, path);
            var again = Assert.Throws<BpfException>(() => Bpf.Pin(map, path));
            Assert.Equal(Errno.EEXIST, again.Errno);
        }

        using var reopened = Bpf.GetPinnedMap(path);
        var value = new byte[8];
        Assert.True(Bpf.MapLookup(reopened, new byte[4], value));
        Assert.Equal(99UL, BitConverter.ToUInt64(value));
        Assert.Throws<InvalidOperationException>(() => Bpf.GetPinnedProgram(path).Dispose());
        using var ro = Bpf.GetPinnedMap(path, BpfMapFlags.ReadOnly);
        var denied = Assert.Throws<BpfException>(() => Bpf.MapUpdate(ro, new byte[4], new byte[8]));
        Assert.Equal(Errno.EPERM, denied.Errno);
    }
}
