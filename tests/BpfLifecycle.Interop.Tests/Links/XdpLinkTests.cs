// XDP links on a veth pair that real UDP traffic crosses: counting, pinning, atomic swaps and the typed errors.
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests.Links;

public sealed class XdpLinkTests : KernelTestBase
{
    private const int Port = 40123;

    [Theory]
    [InlineData(XdpAttachMode.Auto)]
    [InlineData(XdpAttachMode.Native)]
    [InlineData(XdpAttachMode.Generic)]
    public async Task Xdp_link_counts_the_udp_packets_sent_to_the_device(XdpAttachMode mode)
    {
        using var net = new NetworkNamespacePair();
        using var counters = new Counters();
        using var prog = counters.LoadXdpUdpCounter(0, Port);
        using var link = BpfAttach.Xdp(prog, net.HostInterface, mode);
        using var receiver = net.BindHostUdp(Port);

        await net.SendUdpAsync(200, Port, cancellationToken: TestContext.Current.CancellationToken);
        var received = await NetworkNamespacePair.DrainAsync(receiver, TimeSpan.FromSeconds(2), 200, TestContext.Current.CancellationToken);

        Assert.Equal(200, received);
        Assert.Equal(200UL, counters[0]);
        var info = link.Info;
        Assert.Equal(BpfLinkType.Xdp, info.Type);
        Assert.Equal(BpfLinkType.Xdp, link.Type);
        Assert.Equal((uint)net.HostIfIndex, info.IfIndex);
        Assert.Equal(Bpf.GetProgramInfo(prog).Id, info.ProgramId);
        Assert.Equal(link.Id, info.Id);
        Assert.True(info.IsAttached);
        var (_, shown) = await Tool.RunAsync("ip", ["link", "show", "dev", net.HostInterface], TestContext.Current.CancellationToken);
        if (mode == XdpAttachMode.Generic)
        {
            Assert.Contains("xdpgeneric", shown, StringComparison.Ordinal);
        }
        else
        {
            Assert.DoesNotContain("xdpgeneric", shown, StringComparison.Ordinal);
            Assert.Contains("xdp", shown, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Pinned_link_swaps_programs_atomically_while_traffic_flows()
    {
        const int Packets = 3000;
        var ct = TestContext.Current.CancellationToken;
        var pin = Path.Combine(NewPinDirectory(), "xdp_link");
        using var net = new NetworkNamespacePair();
        using var counters = new Counters();
        using var first = counters.LoadXdpUdpCounter(0, Port, "t_xdp_blue");
        using var second = counters.LoadXdpUdpCounter(1, Port, "t_xdp_green");
        using (var link = BpfAttach.Xdp(first, net.HostIfIndex))
        {
            link.Pin(pin);
        }

        // The socket buffer holds what arrives until the receiver starts reading after the swap.
        using var receiver = net.BindHostUdp(Port);
        var sending = net.SendUdpAsync(Packets, Port, burst: 10, pauseMs: 5, cancellationToken: ct);

        while (counters[0] < 200)
        {
            Assert.False(sending.IsCompleted, "the sender finished before the swap could happen mid-stream");
            await Task.Delay(5, ct);
        }

        using (var reopened = BpfLink.FromPin(pin))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            reopened.Update(second, expectedOld: first);
            TestContext.Current.TestOutputHelper?.WriteLine($"BPF_LINK_UPDATE took {clock.Elapsed.TotalMicroseconds:F0} us");
            Assert.Equal(Bpf.GetProgramInfo(second).Id, reopened.ProgramId);
        }

        Assert.False(sending.IsCompleted, "the swap must happen while traffic flows");
        var received = await NetworkNamespacePair.DrainAsync(receiver, TimeSpan.FromSeconds(3), Packets, ct);
        await sending;
        File.Delete(pin);

        var blue = counters[0];
        var green = counters[1];
        Assert.True(blue > 0 && green > 0, $"both programs must have seen traffic (blue {blue}, green {green})");
        Assert.Equal((ulong)received, blue + green);
        Assert.Equal(Packets, received);
        TestContext.Current.TestOutputHelper?.WriteLine($"blue {blue}, green {green}, received {received}");
    }

    [Fact]
    public async Task Pinned_link_survives_closing_every_handle_and_updates_through_a_reopened_link()
    {
        var ct = TestContext.Current.CancellationToken;
        var pin = Path.Combine(NewPinDirectory(), "xdp_link");
        using var net = new NetworkNamespacePair();
        using var counters = new Counters();
        uint linkId;
        using (var prog = counters.LoadXdpUdpCounter(0, Port))
        using (var link = BpfAttach.Xdp(prog, net.HostIfIndex))
        {
            link.Pin(pin);
            Assert.Equal(pin, link.PinnedPath);
            linkId = link.Id;
        }

        // Neither the program nor the link has an open descriptor now: only the pin keeps the program attached.
        await net.SendUdpAsync(50, Port, cancellationToken: ct);
        Assert.Equal(50UL, await counters.WaitForAsync(0, 50));

        using var replacement = counters.LoadXdpUdpCounter(2, Port);
        using (var reopened = BpfLink.FromPin(pin))
        {
            Assert.Equal(linkId, reopened.Id);
            Assert.Equal(BpfLinkType.Xdp, reopened.Type);
            Assert.Equal((uint)net.HostIfIndex, reopened.Info.IfIndex);
            reopened.Update(replacement);
        }

        using (var byId = BpfLink.FromId(linkId))
        {
            Assert.Equal(Bpf.GetProgramInfo(replacement).Id, byId.ProgramId);
            Assert.Contains(net.HostInterface, byId.Target, StringComparison.Ordinal);
        }

        await net.SendUdpAsync(30, Port, cancellationToken: ct);
        Assert.Equal(30UL, await counters.WaitForAsync(2, 30));
        Assert.Equal(50UL, counters[0]);

        using (var last = BpfLink.FromPin(pin))
        {
            last.Unpin(pin);
        }

        // Pin gone and descriptors closed: the kernel detached the link.
        await net.SendUdpAsync(10, Port, cancellationToken: ct);
        Assert.Equal(30UL, counters[2]);
        var gone = Assert.Throws<BpfException>(() => BpfLink.FromId(linkId).Dispose());
        Assert.Equal(Errno.ENOENT, gone.Errno);
        Assert.Contains($"no link with id {linkId}", gone.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Second_xdp_link_on_the_same_device_is_a_typed_busy_error()
    {
        using var net = new NetworkNamespacePair();
        using var counters = new Counters();
        using var prog = counters.LoadXdpUdpCounter(0, Port);
        using var link = BpfAttach.Xdp(prog, net.HostIfIndex);
        var ex = Assert.Throws<BpfAttachConflictException>(() => BpfAttach.Xdp(prog, net.HostIfIndex).Dispose());
        Assert.Equal(Errno.EBUSY, ex.Errno);
        Assert.Equal(BpfCommand.LinkCreate, ex.Command);
        Assert.Contains($"device {net.HostInterface} (ifindex {net.HostIfIndex}) already has an XDP program attached", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_after_detach_reports_the_link_was_detached()
    {
        using var net = new NetworkNamespacePair();
        using var counters = new Counters();
        using var prog = counters.LoadXdpUdpCounter(0, Port);
        using var other = counters.LoadXdpUdpCounter(1, Port);
        using var link = BpfAttach.Xdp(prog, net.HostIfIndex);
        link.Detach();

        var info = link.Info;
        Assert.False(info.IsAttached);
        Assert.Equal(0u, info.IfIndex);
        await net.SendUdpAsync(20, Port, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(0UL, counters[0]);

        var ex = Assert.Throws<BpfLinkDetachedException>(() => link.Update(other));
        Assert.Equal(Errno.ENOLINK, ex.Errno);
        Assert.Equal(link.Id, ex.LinkId);
        Assert.Contains("was detached", ex.Message, StringComparison.Ordinal);

        // The device is free again.
        using var again = BpfAttach.Xdp(other, net.HostIfIndex);
        Assert.True(again.Info.IsAttached);
    }

    [Fact]
    public void Compare_and_swap_with_the_wrong_old_program_is_refused_and_changes_nothing()
    {
        using var net = new NetworkNamespacePair();
        using var counters = new Counters();
        using var attached = counters.LoadXdpUdpCounter(0, Port, "t_xdp_a");
        using var wrongOld = counters.LoadXdpUdpCounter(1, Port, "t_xdp_b");
        using var next = counters.LoadXdpUdpCounter(2, Port, "t_xdp_c");
        using var link = BpfAttach.Xdp(attached, net.HostIfIndex);

        var ex = Assert.Throws<BpfLinkProgramMismatchException>(() => link.Update(next, expectedOld: wrongOld));
        var attachedId = Bpf.GetProgramInfo(attached).Id;
        Assert.Equal(Errno.EPERM, ex.Errno);
        Assert.Equal(Bpf.GetProgramInfo(wrongOld).Id, ex.ExpectedProgramId);
        Assert.Equal(attachedId, ex.AttachedProgramId);
        Assert.Contains($"expected program {ex.ExpectedProgramId} is not the one attached", ex.Message, StringComparison.Ordinal);
        Assert.Equal(attachedId, link.ProgramId);

        link.Update(next, expectedOld: attached);
        Assert.Equal(Bpf.GetProgramInfo(next).Id, link.ProgramId);
    }

    [Fact]
    public async Task Closing_an_unpinned_link_detaches_the_program()
    {
        using var net = new NetworkNamespacePair();
        using var counters = new Counters();
        using var prog = counters.LoadXdpUdpCounter(0, Port);
        var link = BpfAttach.Xdp(prog, net.HostIfIndex, XdpAttachMode.Generic);
        await net.SendUdpAsync(10, Port, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(10UL, await counters.WaitForAsync(0, 10));
        link.Dispose();
        await net.SendUdpAsync(10, Port, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(10UL, counters[0]);
        using var next = BpfAttach.Xdp(prog, net.HostIfIndex);
    }

    [Fact]
    public void Raw_link_commands_work_on_the_handle()
    {
        using var net = new NetworkNamespacePair();
        using var counters = new Counters();
        using var a = counters.LoadXdpUdpCounter(0, Port);
        using var b = counters.LoadXdpUdpCounter(1, Port);
        using var link = BpfAttach.Xdp(a, net.HostIfIndex, XdpAttachMode.Generic);
        Bpf.LinkUpdate(link.Handle, b, expectedOld: a);
        Assert.Equal(Bpf.GetProgramInfo(b).Id, Bpf.GetLinkInfo(link.Handle).ProgramId);
        Bpf.LinkDetach(link.Handle);
        var ex = Assert.Throws<BpfException>(() => Bpf.LinkUpdate(link.Handle, a));
        Assert.Equal(Errno.ENOLINK, ex.Errno);
        Assert.Equal(BpfCommand.LinkUpdate, ex.Command);
    }

    [Fact]
    public void Attaching_to_a_missing_interface_names_it()
    {
        using var counters = new Counters();
        using var prog = counters.LoadXdpUdpCounter(0, Port);
        var ex = Assert.Throws<ArgumentException>(() => BpfAttach.Xdp(prog, "blnosuchdev0").Dispose());
        Assert.Contains("No network interface named 'blnosuchdev0'", ex.Message, StringComparison.Ordinal);
    }
}
