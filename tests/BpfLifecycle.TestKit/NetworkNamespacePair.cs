// A throwaway network namespace joined to the root namespace by a veth pair, for attaching XDP and TCX programs to a
// device that real packets arrive on. Everything it creates has a unique name and is deleted on dispose.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace BpfLifecycle.TestKit;

/// <summary>
/// Creates network namespace <see cref="Namespace"/> and a veth pair: <see cref="HostInterface"/> stays in the root
/// namespace (attach programs there: packets sent from the namespace arrive on it) and <see cref="PeerInterface"/> lives
/// in the new namespace. Both ends get addresses of a random 10.x.y.0/30 test subnet and are brought up.
/// Dispose deletes the namespace and the veth, also after a failed test.
/// </summary>
public sealed class NetworkNamespacePair : IDisposable
{
    private bool _disposed;

    /// <summary>Creates the namespace and the veth pair.</summary>
    public NetworkNamespacePair()
    {
        KernelTest.RequireTool("ip");
        var suffix = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 4));
        Namespace = "bpflc-" + suffix;
        HostInterface = "blh" + suffix;
        PeerInterface = "blp" + suffix;
        var b2 = Random.Shared.Next(100, 250);
        var b3 = Random.Shared.Next(0, 256);
        var b4 = Random.Shared.Next(0, 64) * 4;
        HostAddress = IPAddress.Parse($"10.{b2}.{b3}.{b4 + 1}");
        PeerAddress = IPAddress.Parse($"10.{b2}.{b3}.{b4 + 2}");
        try
        {
            Ip($"netns add {Namespace}");
            Ip($"link add {HostInterface} type veth peer name {PeerInterface} netns {Namespace}");
            // No IPv6 on the test veths: router solicitations and MLD reports would be stray packets on the hook.
            Sysctl(null, $"net.ipv6.conf.{HostInterface}.disable_ipv6=1");
            Sysctl(Namespace, $"net.ipv6.conf.{PeerInterface}.disable_ipv6=1");
            Ip($"addr add {HostAddress}/30 dev {HostInterface}");
            Ip($"-n {Namespace} addr add {PeerAddress}/30 dev {PeerInterface}");
            Ip($"link set {HostInterface} up");
            Ip($"-n {Namespace} link set lo up");
            Ip($"-n {Namespace} link set {PeerInterface} up");
            HostIfIndex = BpfLifecycle.Interop.NetworkInterfaces.IndexOf(HostInterface);
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
        var (code, output) = RunAsync("ip", ["-n", Namespace, "-o", "link", "show", "dev", ifname], CancellationToken.None).GetAwaiter().GetResult();
        var colon = output.IndexOf(':', StringComparison.Ordinal);
        if (code != 0 || colon <= 0)
        {
            throw new InvalidOperationException($"No interface '{ifname}' in namespace {Namespace}: {output}");
        }

        return int.Parse(output.AsSpan(0, colon), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Sends <paramref name="count"/> UDP datagrams from inside the namespace to <see cref="HostAddress"/>:<paramref name="port"/>,
    /// pausing <paramref name="pauseMs"/> ms after every <paramref name="burst"/> datagrams so a receiver keeps up.
    /// Completes when the sender process exits; fails if it exits with an error.
    /// </summary>
    public async Task SendUdpAsync(int count, int port, int burst = 50, double pauseMs = 1, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var script = string.Create(CultureInfo.InvariantCulture,
            $"import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range({count}):\n s.sendto(b'bpflc-test-payload',('{HostAddress}',{port}))\n if (i+1)%{burst}==0: time.sleep({pauseMs / 1000.0})\n");
        var (code, output) = await RunAsync("ip", ["netns", "exec", Namespace, "python3", "-c", script], cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"UDP sender in namespace {Namespace} failed with exit code {code}: {output}");
        }
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

    /// <summary>Deletes the namespace (which removes its veth end) and the root end of the pair.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        TryIp($"link del {HostInterface}");
        TryIp($"netns del {Namespace}");
    }

    private static void Ip(string args)
    {
        var (code, output) = RunAsync("ip", args.Split(' '), CancellationToken.None).GetAwaiter().GetResult();
        if (code != 0)
        {
            throw new InvalidOperationException($"'ip {args}' failed with exit code {code}: {output}");
        }
    }

    private static void TryIp(string args) => RunAsync("ip", args.Split(' '), CancellationToken.None).GetAwaiter().GetResult();

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

        RunAsync("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", setting], CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>Runs a command and returns its exit code and combined output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Cannot start {file}.");
        var stdout = p.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = p.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await p.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }

        return (p.ExitCode, (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false)));
    }
}
