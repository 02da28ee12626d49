// The demo's private network: a network namespace holding one end of a veth pair, the other end in the
// host namespace where the BPF program attaches. Names carry a random suffix so concurrent demos never collide,
// and the host end gets no IP address so the host's routing table is never touched. Each demo holds an flock on
// /run/bpflc-demo/<suffix>.lock while its network exists, so leftovers are only those whose demo has died.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace BpfLifecycle.Host.Demo;

/// <summary>A network namespace and a veth pair created for the demo; disposing removes both.</summary>
internal sealed partial class DemoNetwork : IDisposable
{
    private const int CLONE_NEWNET = 0x40000000;
    private const string OwnerDirectory = "/run/bpflc-demo";
    private bool _disposed;
    private ProcessLock? _ownerLock;

    private DemoNetwork(string suffix)
    {
        Suffix = suffix;
        Namespace = $"bpflc-demo-{suffix}";
        HostInterface = $"bld{suffix}h";
        PeerInterface = $"bld{suffix}p";
        // A /30 inside 10.254.0.0/16 chosen from the suffix; only the namespace side gets an address.
        var n = Convert.ToInt32(suffix[..4], 16) & 0x3fff;
        var b = (n * 4) >> 8;
        var c = (n * 4) & 0xff;
        TargetAddress = IPAddress.Parse($"10.254.{b}.{c + 1}");
        PeerAddress = IPAddress.Parse($"10.254.{b}.{c + 2}");
    }

    /// <summary>The random part of every name the demo creates.</summary>
    public string Suffix { get; }

    /// <summary>Network namespace name (under /run/netns).</summary>
    public string Namespace { get; }

    /// <summary>The veth end in the host namespace, where programs attach.</summary>
    public string HostInterface { get; }

    /// <summary>The veth end inside the namespace, where traffic comes from.</summary>
    public string PeerInterface { get; }

    /// <summary>The address traffic is sent to (resolved statically to the host end's MAC).</summary>
    public IPAddress TargetAddress { get; }

    /// <summary>The namespace end's address.</summary>
    public IPAddress PeerAddress { get; }

    /// <summary>The host end's interface index.</summary>
    public int HostIfIndex => int.Parse(File.ReadAllText($"/sys/class/net/{HostInterface}/ifindex").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Creates the namespace and the veth pair; on any failure removes what was made.</summary>
    public static DemoNetwork Create()
    {
        var net = new DemoNetwork(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)));
        try
        {
            // Owned before it exists: another demo's RemoveLeftovers never sees this network unowned.
            net._ownerLock = LockOwner(net.Suffix) ?? throw new InvalidOperationException($"Demo network {net.Suffix} is owned by another demo.");
            Ip("netns", "add", net.Namespace);
            Ip("link", "add", net.HostInterface, "type", "veth", "peer", "name", net.PeerInterface, "netns", net.Namespace);
            Ip("link", "set", net.HostInterface, "up");
            Ip("-n", net.Namespace, "link", "set", "lo", "up");
            Ip("-n", net.Namespace, "addr", "add", $"{net.PeerAddress}/30", "dev", net.PeerInterface);
            Ip("-n", net.Namespace, "link", "set", net.PeerInterface, "up");
            var mac = File.ReadAllText($"/sys/class/net/{net.HostInterface}/address").Trim();
            Ip("-n", net.Namespace, "neigh", "replace", net.TargetAddress.ToString(), "lladdr", mac, "dev", net.PeerInterface, "nud", "permanent");
            return net;
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }

    /// <summary>Opens a UDP socket inside the namespace, connected to <see cref="TargetAddress"/>:<paramref name="port"/>.</summary>
    public Socket OpenSender(int port)
    {
        // A socket belongs to the namespace of the thread that created it, so create it on a short-lived thread
        // that has joined the namespace; the thread (and its namespace) ends, the socket keeps working anywhere.
        Socket? socket = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var ns = File.OpenHandle($"/run/netns/{Namespace}");
                if (SetNs((int)ns.DangerousGetHandle(), CLONE_NEWNET) != 0)
                {
                    throw new IOException($"setns into network namespace {Namespace} failed: errno {Marshal.GetLastPInvokeError()}.");
                }

                socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                socket.Connect(new IPEndPoint(TargetAddress, port));
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            throw new InvalidOperationException($"Cannot open a UDP socket in namespace {Namespace}: {error.Message}", error);
        }

        return socket!;
    }

    /// <summary>Removes the veth pair and the namespace. Safe to call more than once.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // Deleting one veth end deletes both; deleting the namespace would too, but be explicit.
        TryIp("link", "del", HostInterface);
        TryIp("netns", "del", Namespace);
        _ownerLock?.Dispose();
        _ownerLock = null;
    }

    /// <summary>
    /// Removes namespaces and interfaces left by a demo that was killed before it could clean up: those whose owner
    /// lock nobody holds (the kernel drops a dead process's flock). Networks of running demos are left alone.
    /// </summary>
    public static IReadOnlyList<string> RemoveLeftovers()
    {
        var removed = new List<string>();
        if (Directory.Exists("/run/netns"))
        {
            foreach (var ns in Directory.EnumerateFiles("/run/netns", "bpflc-demo-*"))
            {
                var name = Path.GetFileName(ns);
                var suffix = name["bpflc-demo-".Length..];
                using var owner = LockOwner(suffix);
                if (owner is null)
                {
                    continue;
                }

                if (TryIp("link", "del", $"bld{suffix}h"))
                {
                    removed.Add($"bld{suffix}h");
                }

                if (TryIp("netns", "del", name))
                {
                    removed.Add(name);
                }
            }
        }

        return removed;
    }

    /// <summary>
    /// Takes the owner lock of a demo network, or null when a living demo holds it. Released, the lock file is removed
    /// while still locked, so nobody can lock the old file after the network is gone.
    /// </summary>
    private static ProcessLock? LockOwner(string suffix) => ProcessLock.TryTake(Path.Combine(OwnerDirectory, suffix + ".lock"), deleteOnRelease: true);

    private static void Ip(params string[] args)
    {
        var (code, error) = RunIp(args);
        if (code != 0)
        {
            throw new InvalidOperationException($"'ip {string.Join(' ', args)}' failed ({code}): {error.Trim()}");
        }
    }

    private static bool TryIp(params string[] args) => RunIp(args).ExitCode == 0;

    private static (int ExitCode, string Error) RunIp(string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stderr);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, $"cannot run 'ip' (install iproute2): {e.Message}");
        }
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);
}
