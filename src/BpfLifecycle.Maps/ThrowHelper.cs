// Out-of-line throw helpers: keep the hot map and ring methods small enough to inline.
using System.Diagnostics.CodeAnalysis;

namespace BpfLifecycle.Maps;

internal static class ThrowHelper
{
    [DoesNotReturn]
    internal static void KeySize(BpfMap map, int actual)
        => throw new ArgumentException($"Map '{map.Name}' has {map.KeySize}-byte keys; got a {actual}-byte key.");

    [DoesNotReturn]
    internal static void ValueSize(BpfMap map, int expected, int actual)
        => throw new ArgumentException($"Map '{map.Name}' needs a {expected}-byte value buffer; got {actual} bytes.");

    [DoesNotReturn]
    internal static void KeyNotFound(BpfMap map)
        => throw new KeyNotFoundException($"The key is not in map '{map.Name}'.");

    [DoesNotReturn]
    internal static void Disposed(string what) => throw new ObjectDisposedException(what);

    [DoesNotReturn]
    internal static void IndexOutOfRange(int index, int length)
        => throw new ArgumentOutOfRangeException(nameof(index), index, $"The index must be in [0, {length}).");

    [DoesNotReturn]
    internal static void Invalid(string message) => throw new InvalidOperationException(message);
}
