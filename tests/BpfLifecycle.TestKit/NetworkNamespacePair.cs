// A throwaway network namespace joined to the root namespace by a veth pair, for attaching XDP and TCX programs to a
// device that real packets arrive on. A UDP socket opened inside the namespace (setns on a short-lived thread) sends
// from this process, tens of thousands of packets a second if asked. Static neighbour entries and no IPv6 keep stray
// packets (ARP, router solicitations) off the hooks, so counts are exactly what a test sent. Everything it creates has
// a unique name and is deleted on dispose, also after a failed test, and at process exit or SIGTERM if a test never
// disposed it.
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace BpfLifecycle.TestKit;

/// <summary>
/// Creates network namespace <see cref="Namespace"/> and a veth pair: <see cref="HostInterface"/> stays in the root
/// namespace (attach programs there: packets sent from the namespace arrive on it) and <see cref="PeerInterface"/> lives
/// in the new namespace. Both ends get addresses of a random 10.x.y.0/30 test subnet, static neighbour entries for each
/// other, and are brought up. Dispose deletes the namespace and the veth, also after a failed test.
/// </summary>
public sealed partial class NetworkNamespacePair : IDisposable
{
    /// <summary>The UDP discard port, where <see cref="SendUdp"/> sends by default: nothing listens there.</summary>
    public const int DiscardPort = 9;

    /// <summary>
    /// Datagrams sent between two pauses unless a caller says otherwise: well below the 256-packet ring of a veth with
    /// native XDP and the per-CPU backlog, so no packet is dropped before a hook sees it.
    /// </summary>
    public const int DefaultBurst = 64;

    private const int CLONE_NEWNET = 0x40000000;
    private static readonly byte[] s_payload = "bpflc-test-payload"u8.ToArray();
    private static readonly Lock s_liveLock = new();
    private static readonly HashSet<NetworkNamespacePair> s_live = [];

    // Since .NET 10 a SIGTERM ends the process without raising ProcessExit: a handler of its own deletes the live pairs
    // first, and the signal's default action (termination) follows.
    private static readonly PosixSignalRegistration s_onSigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => DisposeAllLive());
    private readonly Socket? _sender;
    private bool _createdNamespace;
    private bool _createdLink;
    private int _disposed;

    static NetworkNamespacePair()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DisposeAllLive();
        GC.KeepAlive(s_onSigterm);
    }

    /// <summary>Creates the namespace and the veth pair.</summary>
    public NetworkNamespacePair()
    {
        KernelTest.RequireTool("ip");
        var id = Guid.NewGuid().ToByteArray()[..4];
        var suffix = Convert.ToHexStringLower(id);
        Namespace = "bpflc-" + suffix;
        HostInterface = "blh" + suffix;
        PeerInterface = "blp" + suffix;
        var b2 = Random.Shared.Next(100, 250);
        var b3 = Random.Shared.Next(0, 256);
        var b4 = Random.Shared.Next(0, 64) * 4;
        HostAddress = IPAddress.Parse($"10.{b2}.{b3}.{b4 + 1}");
        PeerAddress = IPAddress.Parse($"10.{b2}.{b3}.{b4 + 2}");
        // Locally administered MACs from the random suffix, known up front for the static neighbour entries.
        var mac = string.Join(':', id.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        var hostMac = "02:b1:" + mac;
        var peerMac = "02:b2:" + mac;
        lock (s_liveLock)
        {
            s_live.Add(this);
        }

        try
        {
            Ip($"netns add {Namespace}");
            _createdNamespace = true;
            Ip($"link add {HostInterface} address {hostMac} type veth peer name {PeerInterface} address {peerMac} netns {Namespace}");
            _createdLink = true;
            // No IPv6 on the test veths: router solicitations and MLD reports would be stray packets on the hook.
            Sysctl(null, $"net.ipv6.conf.{HostInterface}.disable_ipv6=1");
            Sysctl(Namespace, $"net.ipv6.conf.{PeerInterface}.disable_ipv6=1");
            Ip($"addr add {HostAddress}/30 dev {HostInterface}");
            Ip($"-n {Namespace} addr add {PeerAddress}/30 dev {PeerInterface}");
            // Static neighbours both ways: no ARP exchange mixed into the counted traffic.
            Ip($"neigh replace {PeerAddress} lladdr {peerMac} dev {HostInterface} nud permanent");
            Ip($"-n {Namespace} neigh replace {HostAddress} lladdr {hostMac} dev {PeerInterface} nud permanent");
            Ip($"link set {HostInterface} up");
            Ip($"-n {Namespace} link set lo up");
            Ip($"-n {Namespace} link set {PeerInterface} up");
            HostIfIndex = BpfLifecycle.Interop.NetworkInterfaces.IndexOf(HostInterface);
            _sender = OpenSocketInNamespace(Namespace);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Name of the network namespace.</summary>
    public string Namespace { get; }

    /// <summary>The veth end in the root namespace, where sent packets arrive.</summary>
    public string HostInterface { get; }

    /// <summary>Interface index of <see cref="HostInterface"/> in the root namespace.</summary>
    public int HostIfIndex { get; }

    /// <summary>The veth end inside <see cref="Namespace"/>.</summary>
    public string PeerInterface { get; }

    /// <summary>IPv4 address of <see cref="HostInterface"/>.</summary>
    public IPAddress HostAddress { get; }

    /// <summary>IPv4 address of <see cref="PeerInterface"/>.</summary>
    public IPAddress PeerAddress { get; }

    /// <summary>The interface index of <paramref name="ifname"/> inside <see cref="Namespace"/> (e.g. of <see cref="PeerInterface"/>).</summary>
    public int IfIndexInNamespace(string ifname)
    {
        var result = Tool.Run("ip", ["-n", Namespace, "-o", "link", "show", "dev", ifname]);
        var colon = result.Output.IndexOf(':', StringComparison.Ordinal);
        if (result.ExitCode != 0 || colon <= 0)
        {
            throw new InvalidOperationException($"No interface '{ifname}' in namespace {Namespace}: {result.Output}");
        }

        return int.Parse(result.Output.AsSpan(0, colon), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Sends <paramref name="count"/> UDP datagrams from inside the namespace to <see cref="HostAddress"/>:<paramref name="port"/>
    /// on the calling thread, pausing <paramref name="pauseMs"/> ms after every <paramref name="burst"/> datagrams so the
    /// veth and a receiver keep up. Returns the number sent (<paramref name="count"/>).
    /// </summary>
    public int SendUdp(int count, int port = DiscardPort, int burst = DefaultBurst, double pauseMs = 1)
    {
        ValidateSend(count, burst);
        return Send(count, port, burst, pauseMs, CancellationToken.None);
    }

    /// <summary>
    /// Sends <paramref name="count"/> UDP datagrams from inside the namespace to <see cref="HostAddress"/>:<paramref name="port"/>
    /// on a thread of their own, pausing <paramref name="pauseMs"/> ms after every <paramref name="burst"/> datagrams so the
    /// veth and a receiver keep up. Completes when all are sent; fails if sending fails; stops with an
    /// <see cref="OperationCanceledException"/> between two bursts when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public Task SendUdpAsync(int count, int port, int burst = DefaultBurst, double pauseMs = 1, CancellationToken cancellationToken = default)
    {
        ValidateSend(count, burst);
        return Task.Factory.StartNew(() => Send(count, port, burst, pauseMs, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>A UDP socket bound to <see cref="HostAddress"/>:<paramref name="port"/> in the root namespace, with a large receive buffer.</summary>
    public Socket BindHostUdp(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4 * 1024 * 1024 };
        try
        {
            socket.Bind(new IPEndPoint(HostAddress, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads datagrams from <paramref name="socket"/> until <paramref name="expected"/> have arrived or <paramref name="quiet"/>
    /// passes with none; returns how many arrived.
    /// </summary>
    public static async Task<int> DrainAsync(Socket socket, TimeSpan quiet, int expected = int.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var buffer = new byte[2048];
        var received = 0;
        while (received < expected)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(quiet);
            try
            {
                await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token).ConfigureAwait(false);
                received++;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        return received;
    }

    /// <summary>Closes the sender and deletes the root end of the pair (which removes the peer) and the namespace.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            // The socket holds a reference to the namespace: close it before the namespace goes.
            _sender?.Dispose();
            if (_createdLink)
            {
                TryIp($"link del {HostInterface}");
            }

            if (_createdNamespace)
            {
                TryIp($"netns del {Namespace}");
            }
        }
        finally
        {
            lock (s_liveLock)
            {
                s_live.Remove(this);
            }
        }
    }

    private static void DisposeAllLive()
    {
        NetworkNamespacePair[] left;
        lock (s_liveLock)
        {
            left = [.. s_live];
        }

        foreach (var pair in left)
        {
            pair.Dispose();
        }
    }

    private static void ValidateSend(int count, int burst)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burst);
    }

    private int Send(int count, int port, int burst, double pauseMs, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var target = new IPEndPoint(HostAddress, port);
        var pause = TimeSpan.FromMilliseconds(pauseMs);
        for (var i = 0; i < count; i++)
        {
            _sender!.SendTo(s_payload, target);
            // Also after the last burst: back-to-back calls (a sender loop) stay paced.
            if (i % burst == burst - 1)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (pause > TimeSpan.Zero)
                {
                    Thread.Sleep(pause);
                }
            }
        }

        return count;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    private static Socket OpenSocketInNamespace(string ns)
    {
        Socket? socket = null;
        Exception? error = null;
        // setns changes the namespace of the calling thread only, and a socket keeps the namespace it was created in:
        // a thread of its own joins the namespace, opens the socket and ends.
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/run/netns/{ns}");
                if (setns((int)handle.DangerousGetHandle(), CLONE_NEWNET) != 0)
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
        thread.Start();
        thread.Join();
        return socket ?? throw new IOException($"Could not open a socket in namespace {ns}.", error);
    }

    private static void Ip(string args) => Tool.RunChecked("ip", args.Split(' '));

    private static void TryIp(string args) => Tool.Run("ip", args.Split(' '));

    private static void Sysctl(string? ns, string setting)
    {
        var file = "/proc/sys/" + setting[..setting.IndexOf('=', StringComparison.Ordinal)].Replace('.', '/');
        if (ns is null)
        {
            if (File.Exists(file))
            {
                File.WriteAllText(file, setting[(setting.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            }

            return;
        }

        Tool.Run("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", setting]);
    }
}
