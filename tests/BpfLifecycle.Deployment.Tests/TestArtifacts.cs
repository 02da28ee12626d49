// Builds artifact directories around the committed lifecycle_xdp.o: one manifest per version, with its
// own globals (verdict, error_every) so a faulty version is the same object configured to fail.
using System.Security.Cryptography;
using System.Text.Json;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Deployment.Tests;

internal static class TestArtifacts
{
    /// <summary>A 64-byte Ethernet/IPv4/UDP frame for XDP test runs.</summary>
    public const string PacketHex = "ffffffffffff0200000000010800450000320000400040110000c0a80001c0a800020400000900" + "1e0000" + "000000000000000000000000000000000000000000000000000000";

    public static Artifact Create(string root, string label, string attach, ulong errorEvery = 0, long expectedVerdict = 2, IReadOnlyList<string>? stateMaps = null, string objectName = "lifecycle_xdp", string? program = null)
    {
        program ??= objectName == "lifecycle_xdp_wide" ? "lifecycle_xdp" : objectName;
        var dir = Path.Combine(root, $"artifact-{label}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var bytes = File.ReadAllBytes(Repository.BpfObject(objectName));
        File.WriteAllBytes(Path.Combine(dir, objectName + ".o"), bytes);
        var globals = new Dictionary<string, ulong>();
        if (errorEvery != 0)
        {
            globals["error_every"] = errorEvery;
        }

        var manifest = new ArtifactManifest
        {
            Name = "lifecycle-xdp",
            Version = label,
            Commit = "0123456789abcdef",
            Object = new ArtifactObject(objectName + ".o", Convert.ToHexStringLower(SHA256.HashData(bytes))),
            Programs = [new ArtifactProgram(program, [attach])],
            StateMaps = stateMaps ?? ["packets"],
            Globals = globals,
            TestVectors = [new ArtifactTestVector("udp-passes", program, PacketHex, expectedVerdict)],
        };
        File.WriteAllBytes(Path.Combine(dir, Artifact.ManifestFileName), JsonSerializer.SerializeToUtf8Bytes(manifest, ArtifactManifest.JsonOptions));
        return Artifact.Load(dir);
    }
}
