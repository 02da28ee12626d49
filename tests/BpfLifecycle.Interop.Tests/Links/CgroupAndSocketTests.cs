// cgroup skb links on a test cgroup holding a real sender process, and socket filters on UDP sockets.
using System.Net;
using System.Net.Sockets;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Interop.Tests.Links;

public sealed class CgroupAndSocketTests : KernelTestBase
{
    [Fact]
    public async Task Cgroup_skb_egress_link_sees_and_enforces_on_the_cgroups_traffic()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cgroup = new TestCgroup();
        using var counters = new Counters();
        using var allow = counters.LoadCounter(BpfProgramType.CgroupSkb, 0, 1, expectedAttachType: BpfAttachType.CgroupInetEgress, name: "t_cg_allow");
        using var deny = counters.LoadCounter(BpfProgramType.CgroupSkb, 1, 0, expectedAttachType: BpfAttachType.CgroupInetEgress, name: "t_cg_deny");
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)receiver.LocalEndPoint!).Port;

        using var link = BpfAttach.CgroupSkb(allow, cgroup.Path, CgroupSkbDirection.Egress);
        var info = link.Info;
        Assert.Equal(BpfLinkType.Cgroup, info.Type);
        Assert.Equal(cgroup.Id, info.CgroupId);
        Assert.Equal(BpfAttachType.CgroupInetEgress, info.AttachType);

        // Traffic of a process outside the cgroup is not seen.
        receiver.SendTo("x"u8, receiver.LocalEndPoint!);
        Assert.Equal(0UL, counters[0]);

        Assert.Equal(0, await SendFromCgroupAsync(cgroup.Path, port, 20, ct));
        Assert.Equal(20UL, counters[0]);

        link.Update(deny, expectedOld: allow);
        Assert.Equal(3, await SendFromCgroupAsync(cgroup.Path, port, 5, ct));
        Assert.Equal(1UL, counters[1]);

        link.Detach();
        Assert.False(link.Info.IsAttached);
        Assert.Equal(0, await SendFromCgroupAsync(cgroup.Path, port, 5, ct));
        Assert.Equal(1UL, counters[1]);
        Assert.Throws<BpfLinkDetachedException>(() => link.Update(allow));
    }

    [Fact]
    public void Cgroup_skb_on_a_directory_outside_cgroup_v2_is_named()
    {
        using var counters = new Counters();
        using var prog = counters.LoadCounter(BpfProgramType.CgroupSkb, 0, 1, expectedAttachType: BpfAttachType.CgroupInetIngress);
        var dir = Directory.CreateTempSubdirectory("bpflc-notcg-");
        Defer(() => dir.Delete());
        var ex = Assert.Throws<BpfException>(() => BpfAttach.CgroupSkb(prog, dir.FullName, CgroupSkbDirection.Ingress).Dispose());
        Assert.Contains("is not a cgroup v2 directory", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Socket_filter_returning_zero_drops_datagrams_and_detaching_restores_delivery()
    {
        using var counters = new Counters();
        using var drop = counters.LoadCounter(BpfProgramType.SocketFilter, 0, 0, name: "t_sf_drop");
        using var pass = counters.LoadCounter(BpfProgramType.SocketFilter, 1, -1, name: "t_sf_pass");
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 300 };
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var buffer = new byte[64];

        using (var filter = BpfAttach.SocketFilter(drop, receiver))
        {
            Assert.True(filter.IsAttached);
            for (var i = 0; i < 5; i++)
            {
                sender.SendTo("dropped"u8, receiver.LocalEndPoint!);
            }

            var timeout = Assert.Throws<SocketException>(() => receiver.Receive(buffer));
            Assert.Equal(SocketError.TimedOut, timeout.SocketErrorCode);
            Assert.Equal(5UL, counters[0]);
        }

        sender.SendTo("after-detach"u8, receiver.LocalEndPoint!);
        Assert.Equal("after-detach"u8.Length, receiver.Receive(buffer));
        Assert.Equal(5UL, counters[0]);

        using (BpfAttach.SocketFilter(pass, receiver))
        {
            for (var i = 0; i < 3; i++)
            {
                sender.SendTo("kept"u8, receiver.LocalEndPoint!);
                Assert.Equal("kept"u8.Length, receiver.Receive(buffer));
            }
        }

        Assert.Equal(3UL, counters[1]);
    }

    [Fact]
    public void Socket_filter_attachment_tolerates_a_socket_closed_first()
    {
        using var counters = new Counters();
        using var prog = counters.LoadCounter(BpfProgramType.SocketFilter, 0, -1);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var filter = BpfAttach.SocketFilter(prog, socket);
        socket.Dispose();
        Assert.False(filter.IsAttached);
        filter.Dispose();
    }

    [Fact]
    public void Socket_filter_with_a_program_of_another_type_is_refused()
    {
        using var counters = new Counters();
        using var xdp = counters.LoadCounter(BpfProgramType.Xdp, 0, 2);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var ex = Assert.Throws<BpfException>(() => BpfAttach.SocketFilter(xdp, socket).Dispose());
        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.Contains("not a SOCKET_FILTER program", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Runs a sender that first moves itself into the cgroup; exit code 3 means sendto was refused with EPERM.</summary>
    private static async Task<int> SendFromCgroupAsync(string cgroupPath, int port, int count, CancellationToken ct)
    {
        var script = $"import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ntry:\n for i in range({count}): s.sendto(b'cg',('127.0.0.1',{port}))\nexcept PermissionError:\n sys.exit(3)\n";
        var (code, output) = await Tool.RunAsync("sh", ["-c", $"echo $$ > '{cgroupPath}/cgroup.procs' && exec python3 -c \"$0\"", script], ct);
        Assert.True(code is 0 or 3, $"sender failed with {code}: {output}");
        return code;
    }
}
