// System-wide enumeration of programs, maps and links against the running kernel.
using BpfLifecycle.Interop;
using BpfLifecycle.Interop.Asm;
using BpfLifecycle.Interop.Native;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests;

public sealed unsafe class EnumerationTests : KernelTestBase
{
    [Fact]
    public void Created_program_and_map_appear_with_names_ids_and_memory()
    {
        using var map = Bpf.MapCreate(new BpfMapSpec("t_enum_map", BpfMapType.Hash, 4, 8, 64));
        using var prog = Bpf.ProgramLoad(new BpfProgramSpec("t_enum_prog", BpfProgramType.Xdp, new BpfAssembler().Return(2).Build()));
        var mapId = Bpf.GetMapInfo(map).Id;
        var progId = Bpf.GetProgramInfo(prog).Id;
        var fdsBefore = BpfFds.Snapshot().Count;

        var maps = BpfObjects.EnumerateMaps().ToList();
        var programs = BpfObjects.EnumeratePrograms().ToList();

        var m = Assert.Single(maps, s => s.Info.Id == mapId);
        Assert.Equal(("t_enum_map", BpfMapType.Hash, 4u, 8u, 64u), (m.Info.Name, m.Info.Type, m.Info.KeySize, m.Info.ValueSize, m.Info.MaxEntries));
        Assert.Equal(Bpf.GetMemlock(map), m.MemlockBytes);
        Assert.True(m.MemlockBytes > 0);

        var p = Assert.Single(programs, s => s.Info.Id == progId);
        Assert.Equal(("t_enum_prog", BpfProgramType.Xdp), (p.Info.Name, p.Info.Type));
        Assert.Equal(Bpf.GetMemlock(prog), p.MemlockBytes);
        Assert.True(p.MemlockBytes > 0);

        Assert.Equal(maps.Select(s => s.Info.Id).Order(), maps.Select(s => s.Info.Id));
        Assert.Contains(mapId, BpfObjects.EnumerateMapIds());
        Assert.Contains(progId, BpfObjects.EnumerateProgramIds());

        // Every descriptor opened during enumeration was closed again.
        Assert.Equal(fdsBefore, BpfFds.Snapshot().Count);
    }

    [Fact]
    public void Objects_that_vanish_between_id_and_open_are_skipped()
    {
        uint goneMap, goneProg;
        using (var m = Bpf.MapCreate(new BpfMapSpec("t_enum_gone", BpfMapType.Array, 4, 4, 1)))
        using (var p = Bpf.ProgramLoad(new BpfProgramSpec("t_enum_gone", BpfProgramType.Xdp, new BpfAssembler().Return(2).Build())))
        {
            goneMap = Bpf.GetMapInfo(m).Id;
            goneProg = Bpf.GetProgramInfo(p).Id;
        }

        using var live = Bpf.MapCreate(new BpfMapSpec("t_enum_live", BpfMapType.Array, 4, 4, 1));
        var liveId = Bpf.GetMapInfo(live).Id;
        WaitUntilGone(() => Bpf.MapFromId(goneMap));
        WaitUntilGone(() => Bpf.ProgramFromId(goneProg));

        var maps = BpfObjects.EnumerateMaps([goneMap, liveId]).ToList();
        Assert.Equal([liveId], maps.Select(s => s.Info.Id));
        Assert.Empty(BpfObjects.EnumeratePrograms([goneProg]));
        Assert.Empty(BpfObjects.EnumerateLinks([uint.MaxValue]));
    }

    [Fact]
    public void Link_appears_with_its_type_and_program()
    {
        using var prog = Bpf.ProgramLoad(new BpfProgramSpec("t_enum_rawtp", BpfProgramType.RawTracepoint, new BpfAssembler().Return(0).Build()));
        var progId = Bpf.GetProgramInfo(prog).Id;
        using var link = RawTracepointOpen(prog, "sched_process_free");
        var direct = BpfObjects.ReadLinkSummary(link);
        Assert.Equal((BpfLinkType.RawTracepoint, progId), (direct.Type, direct.ProgramId));

        var listed = Assert.Single(BpfObjects.EnumerateLinks(), s => s.Id == direct.Id);
        Assert.Equal(direct, listed);
    }

    private static void WaitUntilGone(Func<IDisposable> open)
    {
        // The kernel frees ids after an RCU grace period; an object can be briefly reopenable after its last close.
        for (var i = 0; i < 200; i++)
        {
            try
            {
                open().Dispose();
            }
            catch (BpfException e) when (e.Errno == Errno.ENOENT)
            {
                return;
            }

            Thread.Sleep(10);
        }

        Assert.Fail("A closed object is still reachable by id after 2 s.");
    }

    private static BpfLinkHandle RawTracepointOpen(BpfProgramHandle prog, string tracepoint)
    {
        var name = System.Text.Encoding.ASCII.GetBytes(tracepoint + "\0");
        fixed (byte* pn = name)
        {
            bpf_raw_tracepoint_attr attr = default;
            attr.name = (ulong)pn;
            attr.prog_fd = (uint)prog.Fd;
            return new BpfLinkHandle(BpfSyscall.InvokeFd(BpfCommand.RawTracepointOpen, &attr, tracepoint));
        }
    }
}
