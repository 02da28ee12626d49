// Linux capabilities (include/uapi/linux/capability.h) and a set type over their 64-bit mask.
using System.Numerics;

namespace BpfLifecycle.Interop;

/// <summary>A Linux capability, numbered as the kernel numbers it. <see cref="CapabilityNames.ToKernelName"/> gives <c>CAP_*</c>.</summary>
public enum Capability
{
    /// <summary>CAP_CHOWN</summary>
    Chown = 0,
    /// <summary>CAP_DAC_OVERRIDE</summary>
    DacOverride = 1,
    /// <summary>CAP_DAC_READ_SEARCH</summary>
    DacReadSearch = 2,
    /// <summary>CAP_FOWNER</summary>
    Fowner = 3,
    /// <summary>CAP_FSETID</summary>
    Fsetid = 4,
    /// <summary>CAP_KILL</summary>
    Kill = 5,
    /// <summary>CAP_SETGID</summary>
    Setgid = 6,
    /// <summary>CAP_SETUID</summary>
    Setuid = 7,
    /// <summary>CAP_SETPCAP</summary>
    Setpcap = 8,
    /// <summary>CAP_LINUX_IMMUTABLE</summary>
    LinuxImmutable = 9,
    /// <summary>CAP_NET_BIND_SERVICE</summary>
    NetBindService = 10,
    /// <summary>CAP_NET_BROADCAST</summary>
    NetBroadcast = 11,
    /// <summary>CAP_NET_ADMIN: network configuration; needed for XDP, tc and other networking program types.</summary>
    NetAdmin = 12,
    /// <summary>CAP_NET_RAW</summary>
    NetRaw = 13,
    /// <summary>CAP_IPC_LOCK</summary>
    IpcLock = 14,
    /// <summary>CAP_IPC_OWNER</summary>
    IpcOwner = 15,
    /// <summary>CAP_SYS_MODULE</summary>
    SysModule = 16,
    /// <summary>CAP_SYS_RAWIO</summary>
    SysRawio = 17,
    /// <summary>CAP_SYS_CHROOT</summary>
    SysChroot = 18,
    /// <summary>CAP_SYS_PTRACE</summary>
    SysPtrace = 19,
    /// <summary>CAP_SYS_PACCT</summary>
    SysPacct = 20,
    /// <summary>CAP_SYS_ADMIN: satisfies every BPF permission check; needed to enumerate objects and enable stats.</summary>
    SysAdmin = 21,
    /// <summary>CAP_SYS_BOOT</summary>
    SysBoot = 22,
    /// <summary>CAP_SYS_NICE</summary>
    SysNice = 23,
    /// <summary>CAP_SYS_RESOURCE</summary>
    SysResource = 24,
    /// <summary>CAP_SYS_TIME</summary>
    SysTime = 25,
    /// <summary>CAP_SYS_TTY_CONFIG</summary>
    SysTtyConfig = 26,
    /// <summary>CAP_MKNOD</summary>
    Mknod = 27,
    /// <summary>CAP_LEASE</summary>
    Lease = 28,
    /// <summary>CAP_AUDIT_WRITE</summary>
    AuditWrite = 29,
    /// <summary>CAP_AUDIT_CONTROL</summary>
    AuditControl = 30,
    /// <summary>CAP_SETFCAP</summary>
    Setfcap = 31,
    /// <summary>CAP_MAC_OVERRIDE</summary>
    MacOverride = 32,
    /// <summary>CAP_MAC_ADMIN</summary>
    MacAdmin = 33,
    /// <summary>CAP_SYSLOG</summary>
    Syslog = 34,
    /// <summary>CAP_WAKE_ALARM</summary>
    WakeAlarm = 35,
    /// <summary>CAP_BLOCK_SUSPEND</summary>
    BlockSuspend = 36,
    /// <summary>CAP_AUDIT_READ</summary>
    AuditRead = 37,
    /// <summary>CAP_PERFMON: performance monitoring; needed for tracing program types and perf events.</summary>
    Perfmon = 38,
    /// <summary>CAP_BPF: maps and programs.</summary>
    Bpf = 39,
    /// <summary>CAP_CHECKPOINT_RESTORE</summary>
    CheckpointRestore = 40,
}

/// <summary>Kernel names of capabilities (<c>CAP_NET_ADMIN</c>) and parsing of them.</summary>
public static class CapabilityNames
{
    /// <summary>The highest capability number this library knows.</summary>
    public const int LastKnown = (int)Capability.CheckpointRestore;

    private static readonly string[] s_names = Enumerable.Range(0, LastKnown + 1).Select(i => KernelNameOf(((Capability)i).ToString())).ToArray();

    /// <summary>The kernel's name of a capability, e.g. <c>CAP_NET_ADMIN</c>; <c>CAP_47</c> for numbers unknown here.</summary>
    public static string ToKernelName(this Capability capability)
        => (uint)capability <= LastKnown ? s_names[(int)capability] : $"CAP_{(int)capability}";

    /// <summary>Parses <c>CAP_NET_ADMIN</c>, <c>net_admin</c>, <c>NetAdmin</c> or a number.</summary>
    /// <exception cref="FormatException">The text names no capability.</exception>
    public static Capability Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is >= 0 and < 64)
        {
            return (Capability)n;
        }

        var upper = t.ToUpperInvariant();
        var withPrefix = upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper : "CAP_" + upper;
        var index = Array.IndexOf(s_names, withPrefix);
        if (index >= 0)
        {
            return (Capability)index;
        }

        if (Enum.TryParse<Capability>(t, ignoreCase: true, out var c) && Enum.IsDefined(c))
        {
            return c;
        }

        throw new FormatException($"'{text}' is not a capability name (expected e.g. CAP_BPF, CAP_NET_ADMIN).");
    }

    private static string KernelNameOf(string pascal)
    {
        var sb = new System.Text.StringBuilder("CAP_", pascal.Length + 8);
        for (var i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i]))
            {
                sb.Append('_');
            }

            sb.Append(char.ToUpperInvariant(pascal[i]));
        }

        return sb.ToString();
    }
}

/// <summary>An immutable set of capabilities, stored as the kernel's 64-bit mask.</summary>
public readonly record struct CapabilitySet(ulong Mask)
{
    /// <summary>The empty set.</summary>
    public static CapabilitySet Empty => default;

    /// <summary>A set of the given capabilities.</summary>
    public static CapabilitySet Of(params ReadOnlySpan<Capability> capabilities)
    {
        ulong mask = 0;
        foreach (var c in capabilities)
        {
            mask |= Bit(c);
        }

        return new CapabilitySet(mask);
    }

    /// <summary>Parses a comma- or space-separated list of names (<c>CAP_BPF,CAP_NET_ADMIN</c>); empty text or <c>none</c> is the empty set.</summary>
    public static CapabilitySet Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Trim() is "" or "none" or "(none)")
        {
            return Empty;
        }

        ulong mask = 0;
        foreach (var part in text.Split([',', ' ', '+'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            mask |= Bit(CapabilityNames.Parse(part));
        }

        return new CapabilitySet(mask);
    }

    /// <summary>Parses a hexadecimal mask as <c>/proc/*/status</c> shows it (<c>CapEff:	000001fffeffffff</c>).</summary>
    public static CapabilitySet FromHex(string hex)
        => new(ulong.Parse(hex.Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Whether the set holds a capability.</summary>
    public bool Contains(Capability capability) => (Mask & Bit(capability)) != 0;

    /// <summary>Whether the set holds every capability of <paramref name="other"/>.</summary>
    public bool ContainsAll(CapabilitySet other) => (Mask & other.Mask) == other.Mask;

    /// <summary>Whether the set is empty.</summary>
    public bool IsEmpty => Mask == 0;

    /// <summary>The number of capabilities in the set.</summary>
    public int Count => BitOperations.PopCount(Mask);

    /// <summary>This set with a capability added.</summary>
    public CapabilitySet With(Capability capability) => new(Mask | Bit(capability));

    /// <summary>This set without a capability.</summary>
    public CapabilitySet Without(Capability capability) => new(Mask & ~Bit(capability));

    /// <summary>Capabilities in either set.</summary>
    public CapabilitySet Union(CapabilitySet other) => new(Mask | other.Mask);

    /// <summary>Capabilities in both sets.</summary>
    public CapabilitySet Intersect(CapabilitySet other) => new(Mask & other.Mask);

    /// <summary>Capabilities in this set and not in <paramref name="other"/>.</summary>
    public CapabilitySet Except(CapabilitySet other) => new(Mask & ~other.Mask);

    /// <summary>The capabilities in increasing number.</summary>
    public IReadOnlyList<Capability> ToList()
    {
        var list = new List<Capability>(Count);
        for (var m = Mask; m != 0; m &= m - 1)
        {
            list.Add((Capability)BitOperations.TrailingZeroCount(m));
        }

        return list;
    }

    /// <summary>The mask as 16 hex digits, as <c>/proc/*/status</c> shows it.</summary>
    public string ToHex() => Mask.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Kernel names joined by commas, e.g. <c>CAP_NET_ADMIN,CAP_BPF</c>, or <c>(none)</c>.</summary>
    public override string ToString() => IsEmpty ? "(none)" : string.Join(",", ToList().Select(c => c.ToKernelName()));

    private static ulong Bit(Capability c)
    {
        if ((uint)c >= 64)
        {
            throw new ArgumentOutOfRangeException(nameof(c), c, "Capability numbers are 0..63.");
        }

        return 1UL << (int)c;
    }
}
