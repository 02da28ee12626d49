// TCX links on both hooks of a veth: packets counted, PROG_QUERY ids and revision, anchored placement.
using System.Net;
using System.Net.Sockets;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests.Links;

public sealed class TcxLinkTests : KernelTestBase
{
    private const int Port = 40124;
    private const int TcxNext = -1;

    [Fact]
    public async Task Ingress_and_egress_links_count_packets_and_show_in_the_query()
    {
        var ct = TestContext.Current.CancellationToken;
        using var net = new NetworkNamespacePair();
        using var counters = new Counters();
        using var ingressProg = counters.LoadCounter(BpfProgramType.SchedCls, 0, TcxNext, name: "t_tcx_in");
        using var egressProg = counters.LoadCounter(BpfProgramType.SchedCls, 1, TcxNext, name: "t_tcx_out");

        var before = Bpf.QueryTcx(net.HostIfIndex, TcxDirection.Ingress);
        Assert.Empty(before.ProgramIds);

        using var ingress = BpfAttach.Tcx(ingressProg, net.HostIfIndex, TcxDirection.Ingress);
        using var egress = BpfAttach.Tcx(egressProg, net.HostIfIndex, TcxDirection.Egress);

        var inInfo = ingress.Info;
        Assert.Equal(BpfLinkType.Tcx, inInfo.Type);
        Assert.Equal((uint)net.HostIfIndex, inInfo.IfIndex);
        Assert.Equal(BpfAttachType.TcxIngress, inInfo.AttachType);
        Assert.Equal(BpfAttachType.TcxEgress, egress.Info.AttachType);

        var qin = Bpf.QueryTcx(net.HostIfIndex, TcxDirection.Ingress);
        var qout = Bpf.QueryTcx(net.HostIfIndex, TcxDirection.Egress);
        Assert.Equal([Bpf.GetProgramInfo(ingressProg).Id], qin.ProgramIds);
        Assert.Equal([ingress.Id], qin.LinkIds);
        Assert.Equal([Bpf.GetProgramInfo(egressProg).Id], qout.ProgramIds);
        Assert.Equal([egress.Id], qout.LinkIds);
        Assert.True(qin.Revision > before.Revision, $"revision {qin.Revision} after attaching, {before.Revision} before");

        using var receiver = net.BindHostUdp(Port);
        await net.SendUdpAsync(40, Port, cancellationToken: ct);
        var ingressCount = await counters.WaitForAsync(0, 40);
        Assert.True(ingressCount >= 40, $"ingress counted {ingressCount} of 40 packets");

        using (var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            sender.Bind(new IPEndPoint(net.HostAddress, 0));
            for (var i = 0; i < 25; i++)
            {
                sender.SendTo("x"u8, new IPEndPoint(net.PeerAddress, Port));
            }
        }

        Assert.True(counters[1] >= 25, $"egress counted {counters[1]} of 25 packets");

        egress.Detach();
        Assert.False(egress.Info.IsAttached);
        Assert.Empty(Bpf.QueryTcx(net.HostIfIndex, TcxDirection.Egress).ProgramIds);

        var revision = qin.Revision;
        ingress.Dispose();
        var after = Bpf.QueryTcx(net.HostIfIndex, TcxDirection.Ingress);
        Assert.Empty(after.ProgramIds);
        Assert.True(after.Revision != revision, $"revision {after.Revision} after detaching, {revision} before");
    }

    [Fact]
    public void Anchored_attach_orders_programs_and_a_stale_revision_is_refused()
    {
        using var net = new NetworkNamespacePair();
        using var counters = new Counters();
        using var a = counters.LoadCounter(BpfProgramType.SchedCls, 0, TcxNext, name: "t_tcx_a");
        using var b = counters.LoadCounter(BpfProgramType.SchedCls, 1, TcxNext, name: "t_tcx_b");
        using var c = counters.LoadCounter(BpfProgramType.SchedCls, 2, TcxNext, name: "t_tcx_c");
        using var la = BpfAttach.Tcx(a, net.HostIfIndex, TcxDirection.Ingress);
        using var lb = BpfAttach.Tcx(b, net.HostIfIndex, TcxDirection.Ingress, new TcxAttachOptions { Position = TcxPosition.Before, RelativeLink = la });
        var q = Bpf.QueryTcx(net.HostIfIndex, TcxDirection.Ingress);
        Assert.Equal([lb.Id, la.Id], q.LinkIds);

        var stale = Assert.Throws<BpfException>(() => BpfAttach.Tcx(c, net.HostIfIndex, TcxDirection.Ingress, new TcxAttachOptions { ExpectedRevision = q.Revision - 1 }).Dispose());
        Assert.Contains($"changed since revision {q.Revision - 1}", stale.Message, StringComparison.Ordinal);

        using var lc = BpfAttach.Tcx(c, net.HostIfIndex, TcxDirection.Ingress, new TcxAttachOptions { Position = TcxPosition.After, RelativeProgramId = Bpf.GetProgramInfo(b).Id, ExpectedRevision = q.Revision });
        Assert.Equal([lb.Id, lc.Id, la.Id], Bpf.QueryTcx(net.HostIfIndex, TcxDirection.Ingress).LinkIds);
    }

    [Fact]
    public void Tcx_anchor_without_a_position_is_rejected_before_the_kernel_is_asked()
    {
        using var counters = new Counters();
        using var a = counters.LoadCounter(BpfProgramType.SchedCls, 0, TcxNext);
        var ex = Assert.Throws<ArgumentException>(() => BpfAttach.Tcx(a, 1, TcxDirection.Ingress, new TcxAttachOptions { RelativeProgramId = 5 }));
        Assert.Contains("Position Before or After", ex.Message, StringComparison.Ordinal);
    }
}
