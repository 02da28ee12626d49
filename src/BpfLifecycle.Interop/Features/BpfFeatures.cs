// Feature probes: what the running kernel can do, found by trying the smallest thing that needs it
// (as libbpf, cilium/ebpf and aya probe), each result computed once per process.
using System.Collections.Concurrent;
using BpfLifecycle.Interop.Asm;
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

/// <summary>Named kernel features <see cref="BpfFeatures"/> can probe.</summary>
public enum BpfFeature
{
    /// <summary>The kprobe PMU (<c>/sys/bus/event_source/devices/kprobe</c>): kprobes attached through perf events.</summary>
    KprobePmu,
    /// <summary>The uprobe PMU (<c>/sys/bus/event_source/devices/uprobe</c>): uprobes attached through perf events.</summary>
    UprobePmu,
    /// <summary>BPF tokens (BPF_TOKEN_CREATE, Linux 6.9+): delegated BPF rights for user namespaces.</summary>
    Token,
    /// <summary>tcx links (BPF_TCX_INGRESS/EGRESS, Linux 6.6+).</summary>
    Tcx,
    /// <summary>BPF ring buffer maps (BPF_MAP_TYPE_RINGBUF, Linux 5.8+).</summary>
    RingBuffer,
}

/// <summary>The result of one feature probe.</summary>
/// <param name="Feature">What was probed, e.g. <c>program type Xdp</c> or <c>kprobe PMU</c>.</param>
/// <param name="IsSupported">Whether the running kernel has it.</param>
/// <param name="Detail">How the answer was found (what was tried and what the kernel said).</param>
/// <param name="Errno">The errno of the probe's failed call, or 0.</param>
public sealed record BpfFeatureStatus(string Feature, bool IsSupported, string Detail, int Errno = 0);

/// <summary>
/// Probes of the running kernel's BPF features. Each probe runs once per process and its result is cached (a probe
/// refused only because the calling thread lacks capabilities is not cached). Probes create and close their own
/// objects and touch no network interface or attach point.
/// </summary>
public static unsafe class BpfFeatures
{
    private static readonly ConcurrentDictionary<string, Lazy<BpfFeatureStatus>> s_cache = new(StringComparer.Ordinal);

    /// <summary>Whether a named feature is present.</summary>
    public static BpfFeatureStatus Probe(BpfFeature feature) => feature switch
    {
        BpfFeature.KprobePmu => Cached("kprobe PMU", () => ProbePmu("kprobe PMU", "kprobe")),
        BpfFeature.UprobePmu => Cached("uprobe PMU", () => ProbePmu("uprobe PMU", "uprobe")),
        BpfFeature.Token => Cached("BPF token", ProbeToken),
        BpfFeature.Tcx => Cached("tcx", ProbeTcx),
        BpfFeature.RingBuffer => Cached("ring buffer", () => MapType(BpfMapType.RingBuf) with { Feature = "ring buffer" }),
        _ => throw new ArgumentOutOfRangeException(nameof(feature), feature, "Unknown BPF feature."),
    };

    /// <summary>Whether programs of <paramref name="type"/> can be loaded (a minimal program of the type is loaded and closed).</summary>
    public static BpfFeatureStatus ProgramType(BpfProgramType type) => Cached($"program type {type}", () => ProbeProgramType(type));

    /// <summary>Whether maps of <paramref name="type"/> can be created (a minimal map of the type is created and closed).</summary>
    /// <exception cref="ArgumentException">The type cannot be created without BTF type information, so it is not probed.</exception>
    public static BpfFeatureStatus MapType(BpfMapType type)
    {
        if (type is BpfMapType.SkStorage or BpfMapType.InodeStorage or BpfMapType.TaskStorage or BpfMapType.CgrpStorage or BpfMapType.StructOps)
        {
            throw new ArgumentException($"Map type {type} cannot be created without BTF type information, so it is not probed.", nameof(type));
        }

        return Cached($"map type {type}", () => ProbeMapType(type));
    }

    /// <summary>Throws <see cref="BpfFeatureNotSupportedException"/> naming the feature when the kernel lacks it.</summary>
    public static void Require(BpfFeature feature) => ThrowIfUnsupported(Probe(feature));

    /// <summary>Throws <see cref="BpfFeatureNotSupportedException"/> when programs of <paramref name="type"/> cannot be loaded.</summary>
    public static void Require(BpfProgramType type) => ThrowIfUnsupported(ProgramType(type));

    /// <summary>Throws <see cref="BpfFeatureNotSupportedException"/> when maps of <paramref name="type"/> cannot be created.</summary>
    public static void Require(BpfMapType type) => ThrowIfUnsupported(MapType(type));

    /// <summary>The running kernel's version (from <c>/proc/sys/kernel/osrelease</c>, e.g. 6.18.44).</summary>
    public static Version KernelVersion => s_kernelVersion.Value;

    private static readonly Lazy<Version> s_kernelVersion = new(() => ParseKernelRelease(File.ReadAllText("/proc/sys/kernel/osrelease")));

    /// <summary>Parses a kernel release such as <c>6.18.44-fc-v669</c> into 6.18.44.</summary>
    internal static Version ParseKernelRelease(string release)
    {
        var parts = new int[3];
        var span = release.AsSpan().Trim();
        for (var i = 0; i < 3 && !span.IsEmpty; i++)
        {
            var n = 0;
            var len = 0;
            while (len < span.Length && char.IsAsciiDigit(span[len]))
            {
                n = (n * 10) + (span[len] - '0');
                len++;
            }

            if (len == 0)
            {
                break;
            }

            parts[i] = n;
            span = span[len..];
            if (span.IsEmpty || span[0] != '.')
            {
                break;
            }

            span = span[1..];
        }

        return new Version(parts[0], parts[1], parts[2]);
    }

    private static void ThrowIfUnsupported(BpfFeatureStatus status)
    {
        if (!status.IsSupported)
        {
            throw new BpfFeatureNotSupportedException(status.Feature, status.Detail, status.Errno);
        }
    }

    private static BpfFeatureStatus Cached(string key, Func<BpfFeatureStatus> probe)
    {
        var result = s_cache.GetOrAdd(key, _ => new Lazy<BpfFeatureStatus>(probe)).Value;
        if (result.Errno == Errno.EPERM && result.Detail.Contains(NotPermittedMarker, StringComparison.Ordinal))
        {
            // Refused for want of capabilities: says nothing about the kernel, so ask again next time.
            s_cache.TryRemove(key, out _);
        }

        return result;
    }

    private const string NotPermittedMarker = "the calling thread lacks";

    private static BpfFeatureStatus ProbePmu(string feature, string pmu)
    {
        var dir = $"/sys/bus/event_source/devices/{pmu}";
        return Directory.Exists(dir)
            ? new(feature, true, $"{dir} exists")
            : new(feature, false, $"{dir} does not exist (the kernel is built without it)");
    }

    private static BpfFeatureStatus ProbeTcx()
    {
        // A real tcx probe needs an attach to a network device; probes must not touch interfaces, so the
        // kernel version stands in for it (tcx arrived in Linux 6.6).
        var v = KernelVersion;
        var min = new Version(6, 6, 0);
        return v >= min
            ? new("tcx", true, $"kernel version {v} >= {min} (version check; tcx links arrived in Linux 6.6)")
            : new("tcx", false, $"kernel version {v} < {min} (tcx links arrived in Linux 6.6)");
    }

    private static BpfFeatureStatus ProbeToken()
    {
        // An invalid bpffs descriptor: a kernel that knows the command fails with EBADF, an older one with EINVAL.
        bpf_token_create_attr attr = default;
        attr.bpffs_fd = uint.MaxValue;
        var r = BpfSyscall.Invoke(BpfCommand.TokenCreate, &attr, out var errno);
        if (r >= 0)
        {
            Native.Interop.Libc.Close((int)r);
            return new("BPF token", true, "BPF_TOKEN_CREATE succeeded");
        }

        return errno == Errno.EINVAL
            ? new("BPF token", false, "BPF_TOKEN_CREATE is unknown to this kernel (EINVAL; tokens arrived in Linux 6.9)", errno)
            : new("BPF token", true, $"BPF_TOKEN_CREATE is known to this kernel ({Errno.Name(errno)} for an invalid bpffs descriptor); creating a token still needs a bpffs mounted with delegate options in a user namespace", errno);
    }

    private static BpfFeatureStatus ProbeProgramType(BpfProgramType type)
    {
        var feature = $"program type {type}";
        var insns = new BpfAssembler().Return(0).Build();
        var license = "GPL\0"u8;
        var log = new byte[4096];
        uint expectedAttachType = 0, attachBtfId = 0, flags = 0;
        (int Errno, string[] Messages)? expectedFailure = null;
        switch (type)
        {
            case BpfProgramType.CgroupSkb:
                expectedAttachType = (uint)BpfAttachType.CgroupInetIngress;
                break;
            case BpfProgramType.CgroupSockAddr:
                expectedAttachType = 10; // BPF_CGROUP_INET4_CONNECT
                break;
            case BpfProgramType.LircMode2:
                expectedAttachType = 16; // BPF_LIRC_MODE2
                break;
            case BpfProgramType.CgroupSockopt:
                expectedAttachType = 21; // BPF_CGROUP_GETSOCKOPT
                break;
            case BpfProgramType.SkLookup:
                expectedAttachType = 36; // BPF_SK_LOOKUP
                break;
            case BpfProgramType.Netfilter:
                expectedAttachType = (uint)BpfAttachType.Netfilter;
                break;
            case BpfProgramType.Syscall:
                flags = 1 << 4; // BPF_F_SLEEPABLE
                break;
            // These types need a real attach target; BTF id 1 is never a valid one, so a kernel that knows the type
            // gets past the type check and fails on the target with a recognisable message.
            case BpfProgramType.Tracing:
                expectedAttachType = (uint)BpfAttachType.TraceFentry;
                attachBtfId = 1;
                expectedFailure = (Errno.EINVAL, ["attach_btf_id 1 is not a function"]);
                break;
            case BpfProgramType.Lsm:
                expectedAttachType = 26; // BPF_MODIFY_RETURN
                attachBtfId = 1;
                expectedFailure = (Errno.EINVAL, ["attach_btf_id 1 is not a function"]);
                break;
            case BpfProgramType.Ext:
                attachBtfId = 1;
                expectedFailure = (Errno.EINVAL, ["Cannot replace kernel functions", "can only be attached to another program annotated with BTF"]);
                break;
            case BpfProgramType.StructOps:
                attachBtfId = 1;
                expectedFailure = (Errno.ENOTSUPP, []);
                break;
            default:
                break;
        }

        fixed (BpfInstruction* pi = insns)
        fixed (byte* pl = license)
        fixed (byte* plog = log)
        {
            bpf_prog_load_attr attr = default;
            attr.prog_type = (uint)type;
            attr.insn_cnt = (uint)insns.Length;
            attr.insns = (ulong)pi;
            attr.license = (ulong)pl;
            attr.expected_attach_type = expectedAttachType;
            attr.attach_btf_id = attachBtfId;
            attr.prog_flags = flags;
            attr.log_level = 1;
            attr.log_size = (uint)log.Length;
            attr.log_buf = (ulong)plog;
            BpfSyscall.CopyName(attr.prog_name, 16, "probe");
            long r;
            int errno;
            var attempts = 0;
            do
            {
                r = BpfSyscall.Invoke(BpfCommand.ProgLoad, &attr, out errno);
            }
            while (r < 0 && errno == Errno.EAGAIN && ++attempts < 5);

            if (r >= 0)
            {
                Native.Interop.Libc.Close((int)r);
                return new(feature, true, $"a minimal {type} program loaded");
            }

            var text = System.Text.Encoding.UTF8.GetString(log, 0, Math.Max(0, Array.IndexOf(log, (byte)0)));
            if (expectedFailure is { } exp && errno == exp.Errno && (exp.Messages.Length == 0 || exp.Messages.Any(m => text.Contains(m, StringComparison.Ordinal))))
            {
                return new(feature, true, $"the kernel knows {type}: the probe's deliberately invalid attach target was refused with {Errno.Name(errno)}", errno);
            }

            return Refused(feature, $"loading a minimal {type} program", errno, Capabilities.Missing(type), text);
        }
    }

    private static BpfFeatureStatus ProbeMapType(BpfMapType type)
    {
        var feature = $"map type {type}";
        uint key = 4, value = 4, max = 1;
        var mapFlags = BpfMapFlags.None;
        BpfMapHandle? inner = null;
        try
        {
            switch (type)
            {
                case BpfMapType.StackTrace:
                    value = 8;
                    break;
                case BpfMapType.LpmTrie:
                    (key, value, mapFlags) = (8, 8, BpfMapFlags.NoPrealloc);
                    break;
                case BpfMapType.CgroupStorage or BpfMapType.PerCpuCgroupStorage:
                    (key, value, max) = (8, 8, 0);
                    break;
                case BpfMapType.Queue or BpfMapType.Stack or BpfMapType.BloomFilter:
                    key = 0;
                    break;
                case BpfMapType.RingBuf or BpfMapType.UserRingBuf:
                    (key, value, max) = (0, 0, (uint)Environment.SystemPageSize);
                    break;
                case BpfMapType.Arena:
                    (key, value, max, mapFlags) = (0, 0, 1, BpfMapFlags.Mmapable);
                    break;
                case BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps:
                    inner = TryCreateInner();
                    if (inner is null)
                    {
                        return new(feature, false, "the inner array map for the probe could not be created");
                    }

                    break;
                default:
                    break;
            }

            bpf_map_create_attr attr = default;
            attr.map_type = (uint)type;
            attr.key_size = key;
            attr.value_size = value;
            attr.max_entries = max;
            attr.map_flags = (uint)mapFlags;
            attr.inner_map_fd = inner is null ? 0 : (uint)inner.Fd;
            BpfSyscall.CopyName(attr.map_name, 16, "probe");
            var r = BpfSyscall.Invoke(BpfCommand.MapCreate, &attr, out var errno);
            if (r >= 0)
            {
                Native.Interop.Libc.Close((int)r);
                return new(feature, true, $"a minimal {type} map was created");
            }

            return Refused(feature, $"creating a minimal {type} map", errno, Capabilities.Missing(BpfOperation.CreateMap), null);
        }
        finally
        {
            inner?.Dispose();
        }
    }

    private static BpfMapHandle? TryCreateInner()
    {
        bpf_map_create_attr attr = default;
        attr.map_type = (uint)BpfMapType.Array;
        attr.key_size = 4;
        attr.value_size = 4;
        attr.max_entries = 1;
        var r = BpfSyscall.Invoke(BpfCommand.MapCreate, &attr, out _);
        return r < 0 ? null : new BpfMapHandle((int)r);
    }

    private static BpfFeatureStatus Refused(string feature, string what, int errno, CapabilitySet missing, string? log)
    {
        var tail = string.IsNullOrWhiteSpace(log) ? string.Empty : $"; verifier: {BpfVerifierException.Tail(log, 2)}";
        if (errno == Errno.EPERM && !missing.IsEmpty)
        {
            return new(feature, false, $"{what} was refused with EPERM and {NotPermittedMarker} {missing}, so this says nothing about the kernel", errno);
        }

        var why = errno switch
        {
            Errno.EPERM => "EPERM although the calling thread holds the capabilities the type needs: the kernel refuses it (configuration, lockdown or an LSM)",
            Errno.EINVAL => "EINVAL: the kernel does not know or accept it",
            Errno.EOPNOTSUPP or Errno.ENOTSUPP => $"{Errno.Name(errno)}: the kernel does not support it",
            _ => $"{Errno.Name(errno)} ({Errno.Describe(errno)})",
        };
        return new(feature, false, $"{what} failed with {why}{tail}", errno);
    }
}
