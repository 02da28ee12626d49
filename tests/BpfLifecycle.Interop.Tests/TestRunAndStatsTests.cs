// BPF_PROG_TEST_RUN and BPF_ENABLE_STATS against the running kernel.
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests;

public sealed class TestRunAndStatsTests : KernelTestBase
{
    private const int XdpPass = 2;

    private static BpfProgramHandle LoadXdpPass(string name = "t_tr_pass")
        => Bpf.ProgramLoad(new BpfProgramSpec(name, BpfProgramType.Xdp, new BpfAssembler().Return(XdpPass).Build()));

    private static byte[] Packet(int length)
    {
        var p = new byte[length];
        for (var i = 0; i < p.Length; i++)
        {
            p[i] = (byte)(i + 1);
        }

        return p;
    }

    [Fact]
    public void Xdp_test_run_returns_the_action_and_the_packet_the_program_left()
    {
        // Writes 0xAB into the first byte of the packet after a bounds check, then returns XDP_PASS.
        var insns = new BpfAssembler()
            .Load(BpfSize.Word, BpfRegister.R2, BpfRegister.R1, 0)
            .Load(BpfSize.Word, BpfRegister.R3, BpfRegister.R1, 4)
            .Mov64(BpfRegister.R4, BpfRegister.R2)
            .Alu64(BpfAluOp.Add, BpfRegister.R4, 1)
            .JumpIf(BpfJumpOp.Gt, BpfRegister.R4, BpfRegister.R3, "out")
            .Store(BpfSize.Byte, BpfRegister.R2, 0, 0xAB)
            .Label("out")
            .Return(XdpPass)
            .Build();
        using var prog = Bpf.ProgramLoad(new BpfProgramSpec("t_tr_write", BpfProgramType.Xdp, insns));
        var input = Packet(64);
        var output = new byte[128];
        var result = Bpf.TestRun(prog, input, output, repeat: 10_000);
        Assert.Equal((uint)XdpPass, result.ReturnValue);
        Assert.Equal(64, result.DataSizeOut);
        Assert.Equal(0xAB, output[0]);
        Assert.Equal(input.AsSpan(1), output.AsSpan(1, 63));
        Assert.Equal(1, input[0]);
        Assert.Equal(10_000u, result.Repeat);
        Assert.InRange(result.DurationNs, 1u, 100_000u);
    }

    [Fact]
    public void Test_run_allocates_nothing()
    {
        using var prog = LoadXdpPass();
        var packet = Packet(64);
        var output = new byte[64];
        Bpf.TestRun(prog, packet, output);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            Bpf.TestRun(prog, packet, output);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Packet_shorter_than_an_ethernet_header_is_explained()
    {
        using var prog = LoadXdpPass();
        var ex = Assert.Throws<BpfException>(() => Bpf.TestRun(prog, new byte[10], new byte[64]));
        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.Equal(BpfCommand.ProgTestRun, ex.Command);
        Assert.Contains("10 bytes, shorter than an Ethernet header (14 bytes)", ex.Message, StringComparison.Ordinal);
        Assert.Equal((uint)XdpPass, Bpf.TestRun(prog, new byte[14], Span<byte>.Empty).ReturnValue);
    }

    [Fact]
    public void Output_buffer_too_small_names_the_size_needed()
    {
        using var prog = LoadXdpPass();
        var ex = Assert.Throws<BpfException>(() => Bpf.TestRun(prog, Packet(100), new byte[20]));
        Assert.Equal(Errno.ENOSPC, ex.Errno);
        Assert.Contains("needs 100 bytes but the output buffer holds 20", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(BpfProgramType.Tracepoint)]
    [InlineData(BpfProgramType.Kprobe)]
    public void Tracing_test_runs_are_reported_as_an_unsupported_kernel_feature(BpfProgramType type)
    {
        using var prog = Bpf.ProgramLoad(new BpfProgramSpec("t_tr_trace", type, new BpfAssembler().Return(0).Build()));
        var ex = Assert.Throws<BpfFeatureNotSupportedException>(() => Bpf.TestRun(prog, new byte[64], Span<byte>.Empty));
        Assert.Equal($"BPF_PROG_TEST_RUN for {type}", ex.Feature);
        Assert.Equal(Errno.ENOTSUPP, ex.Errno);
        Assert.Contains($"does not support BPF_PROG_TEST_RUN for {type}", ex.Message, StringComparison.Ordinal);
        var inner = Assert.IsType<BpfException>(ex.InnerException);
        Assert.Equal(BpfCommand.ProgTestRun, inner.Command);
    }

    [Fact]
    public void Context_goes_in_and_comes_back_out()
    {
        // tc program: r0 = skb->mark; skb->mark = 9.
        const short markOffset = 8;
        var insns = new BpfAssembler()
            .Load(BpfSize.Word, BpfRegister.R0, BpfRegister.R1, markOffset)
            .Mov64(BpfRegister.R2, 9)
            .Store(BpfSize.Word, BpfRegister.R1, markOffset, BpfRegister.R2)
            .Exit()
            .Build();
        using var prog = Bpf.ProgramLoad(new BpfProgramSpec("t_tr_ctx", BpfProgramType.SchedCls, insns));
        const int skbSize = 192; // sizeof(struct __sk_buff) on this kernel
        var ctxIn = new byte[skbSize];
        BitConverter.TryWriteBytes(ctxIn.AsSpan(markOffset), 7u);
        var ctxOut = new byte[skbSize];
        var result = Bpf.TestRun(prog, Packet(64), new byte[64], ctxIn, ctxOut);
        Assert.Equal(7u, result.ReturnValue);
        Assert.Equal(skbSize, result.ContextSizeOut);
        Assert.Equal(9u, BitConverter.ToUInt32(ctxOut, markOffset));
    }

    [Fact]
    public void Raw_tracepoint_runs_on_a_context_of_arguments_only()
    {
        // r0 = first tracepoint argument (ctx is an array of u64 arguments).
        var insns = new BpfAssembler().Load(BpfSize.DoubleWord, BpfRegister.R0, BpfRegister.R1, 0).Exit().Build();
        using var prog = Bpf.ProgramLoad(new BpfProgramSpec("t_tr_rawtp", BpfProgramType.RawTracepoint, insns));
        var args = new byte[16];
        BitConverter.TryWriteBytes(args, 42UL);
        var result = Bpf.TestRun(prog, ReadOnlySpan<byte>.Empty, Span<byte>.Empty, args, Span<byte>.Empty, repeat: 0);
        Assert.Equal(42u, result.ReturnValue);

        var ex = Assert.Throws<BpfException>(() => Bpf.TestRun(prog, Packet(64), Span<byte>.Empty, args, Span<byte>.Empty, repeat: 1));
        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.Contains("RawTracepoint test runs take only an input context", ex.Message, StringComparison.Ordinal);
        Assert.Contains("got packet 64 bytes, context in 16/out 0 bytes, repeat 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_count_and_time_grow_with_test_runs_while_stats_are_enabled()
    {
        using var prog = LoadXdpPass("t_stats");
        using (var stats = Bpf.EnableStats())
        {
            Assert.False(stats.IsInvalid);
            Assert.Equal("bpf-stats", Bpf.DescribeFd(stats.Fd));
            var before = Bpf.GetProgramInfo(prog);
            Bpf.TestRun(prog, Packet(64), Span<byte>.Empty, repeat: 500);
            var after = Bpf.GetProgramInfo(prog);
            Assert.Equal(before.RunCount + 500, after.RunCount);
            Assert.True(after.RunTimeNs > before.RunTimeNs, $"run_time_ns did not grow: {before.RunTimeNs} -> {after.RunTimeNs}");
            Bpf.TestRun(prog, Packet(64), Span<byte>.Empty, repeat: 7);
            Assert.Equal(after.RunCount + 7, Bpf.GetProgramInfo(prog).RunCount);
        }
    }
}
