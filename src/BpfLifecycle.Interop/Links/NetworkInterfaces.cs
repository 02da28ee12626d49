// Interface name and index lookups in the caller's network namespace, for attach points and readable errors.
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

/// <summary>Network interface lookups in the current network namespace.</summary>
public static unsafe class NetworkInterfaces
{
    /// <summary>The index of the interface named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such interface in this network namespace.</exception>
    public static int IndexOf(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length >= Interop.Native.Interop.Net.IF_NAMESIZE)
        {
            throw new ArgumentException($"'{name}' is not an interface name: names are at most 15 bytes.", nameof(name));
        }

        var index = Interop.Native.Interop.Libc.IfNameToIndex(name);
        if (index == 0)
        {
            throw new ArgumentException($"No network interface named '{name}' exists in this network namespace.", nameof(name));
        }

        return (int)index;
    }

    /// <summary>The name of the interface with index <paramref name="ifindex"/>, or null when there is none.</summary>
    public static string? NameOf(int ifindex)
    {
        if (ifindex <= 0)
        {
            return null;
        }

        var buf = stackalloc byte[Interop.Native.Interop.Net.IF_NAMESIZE];
        return Interop.Native.Interop.Net.IfIndexToName((uint)ifindex, buf) == null ? null : BpfSyscall.ReadName(buf, Interop.Native.Interop.Net.IF_NAMESIZE);
    }

    internal static string Describe(uint ifindex) => NameOf((int)ifindex) is { } name ? $"{name} (ifindex {ifindex})" : $"ifindex {ifindex}";
}
