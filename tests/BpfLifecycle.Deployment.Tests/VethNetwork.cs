// A veth pair for traffic tests: the host end (where programs attach) stays in this namespace, the peer
// end lives in a fresh network namespace; a UDP socket opened inside that namespace sends packets that
// arrive on the host end. Names carry a random suffix; everything is removed on dispose.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace BpfLifecycle.Deployment.Tests;

public sealed partial class VethNetwork : IDisposable
{
    private const int CLONE_NEWNET = 0x40000000;
    private readonly Socket _sender;
    private readonly IPEndPoint _target;
    private readonly byte[] _payload = new byte[32];

    private VethNetwork(string ns, string hostIf, string peerIf, Socket sender, IPEndPoint target)
    {
        Namespace = ns;
        HostInterface = hostIf;
        PeerInterface = peerIf;
        _sender = sender;
        _target = target;
    }

    public string Namespace { get; }

    public string HostInterface { get; }

    public string PeerInterface { get; }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    public static VethNetwork Create()
    {
        var sfx = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var ns = $"bpflcd-{sfx}";
        var hostIf = $"bdh{sfx}";
        var peerIf = $"bdp{sfx}";
        var net = $"10.{Random.Shared.Next(100, 250)}.{Random.Shared.Next(0, 255)}";
        Run("ip", $"netns add {ns}");
        try
        {
            Run("ip", $"link add {hostIf} type veth peer name {peerIf}");
            Run("ip", $"link set {peerIf} netns {ns}");
            Run("ip", $"addr add {net}.1/24 dev {hostIf}");
            Run("ip", $"link set {hostIf} up");
            Run("ip", $"netns exec {ns} ip addr add {net}.2/24 dev {peerIf}");
            // No IPv6 on the peer: router solicitations would add packets the tests do not send.
            Run("ip", $"netns exec {ns} sysctl -qw net.ipv6.conf.{peerIf}.disable_ipv6=1");
            Run("ip", $"netns exec {ns} ip link set {peerIf} up");
            Run("ip", $"netns exec {ns} ip link set lo up");
            var mac = File.ReadAllText($"/sys/class/net/{hostIf}/address").Trim();
            Run("ip", $"netns exec {ns} ip neigh replace {net}.1 lladdr {mac} dev {peerIf} nud permanent");
            // Static neighbours both ways: no ARP packets mixed into the counted traffic.
            var peerMac = Capture("ip", $"netns exec {ns} cat /sys/class/net/{peerIf}/address").Trim();
            Run("ip", $"neigh replace {net}.2 lladdr {peerMac} dev {hostIf} nud permanent");
            var sender = OpenSocketIn(ns);
            return new VethNetwork(ns, hostIf, peerIf, sender, new IPEndPoint(IPAddress.Parse($"{net}.1"), 9));
        }
        catch
        {
            Cleanup(ns, hostIf);
            throw;
        }
    }

    /// <summary>Sends <paramref name="count"/> UDP packets host-wards, pausing briefly every <paramref name="burst"/> so the veth ring never overflows.</summary>
    public int Send(int count, int burst = 64)
    {
        var sent = 0;
        for (var i = 0; i < count; i++)
        {
            _sender.SendTo(_payload, _target);
            sent++;
            if (i % burst == burst - 1)
            {
                Thread.Sleep(1);
            }
        }

        return sent;
    }

    public void Dispose()
    {
        _sender.Dispose();
        Cleanup(Namespace, HostInterface);
    }

    private static void Cleanup(string ns, string hostIf)
    {
        TryRun("ip", $"link del {hostIf}");
        TryRun("ip", $"netns del {ns}");
    }

    private static Socket OpenSocketIn(string ns)
    {
        Socket? socket = null;
        Exception? error = null;
        // setns affects only the calling thread; a socket keeps the namespace it was created in.
        var t = new Thread(() =>
        {
            try
            {
                using var f = File.OpenHandle($"/var/run/netns/{ns}");
                if (setns((int)f.DangerousGetHandle(), CLONE_NEWNET) != 0)
                {
                    throw new IOException($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        t.Start();
        t.Join();
        return socket ?? throw new IOException($"Could not open a socket in {ns}", error);
    }

    internal static void Run(string file, string args) => Capture(file, args);

    internal static string Capture(string file, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var output = p.StandardOutput.ReadToEnd();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {args} failed ({p.ExitCode}): {err}");
        }

        return output;
    }

    private static void TryRun(string file, string args)
    {
        try
        {
            Run(file, args);
        }
        catch (InvalidOperationException)
        {
        }
    }
}
