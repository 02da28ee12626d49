// The sample artifacts must stay loadable and correctly signed: the demo and the docs depend on them.
using System.Security.Cryptography;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Host.Tests;

public sealed class SampleArtifactTests
{
    private static string ArtifactDir(string version) => Path.Combine(HostProcess.RepositoryRoot, "samples", "artifacts", version);

    [Theory]
    [InlineData("v1", "1.0.0", 0ul, "lifecycle_xdp", new[] { "packets" })]
    [InlineData("v2", "1.1.0", 0ul, "lifecycle_xdp_v2", new[] { "packets", "protocols" })]
    [InlineData("v3", "1.2.0", 4ul, "lifecycle_xdp_v2", new[] { "packets", "protocols" })]
    public void Artifact_is_valid_pins_the_object_built_from_its_source_and_sets_the_fault_only_in_v3(
        string dir, string version, ulong errorEvery, string source, string[] stateMaps)
    {
        var artifact = Artifact.Load(ArtifactDir(dir));

        Assert.Equal("lifecycle-xdp", artifact.Manifest.Name);
        Assert.Equal(version, artifact.Manifest.Version);
        Assert.Equal(errorEvery, artifact.Manifest.Globals["error_every"]);
        Assert.Equal(stateMaps, artifact.Manifest.StateMaps);
        Assert.Equal("lifecycle_xdp", Assert.Single(artifact.Manifest.Programs).Name);
        // make-artifacts.sh copies bpf/obj/<source>.o, which bpf/build.sh --check ties to bpf/src/<source>.c.
        var built = File.ReadAllBytes(BpfLifecycle.TestKit.Repository.BpfObject(source));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(built)), artifact.Manifest.Object.Sha256);
    }

    [Fact]
    public void V2_is_a_different_program_whose_packets_map_stays_compatible_with_v1s()
    {
        var v1 = Artifact.Load(ArtifactDir("v1"));
        var v2 = Artifact.Load(ArtifactDir("v2"));
        using var v1Object = BpfObjectFile.Open(v1.ObjectBytes, "v1");
        using var v2Object = BpfObjectFile.Open(v2.ObjectBytes, "v2");

        Assert.NotEqual(v1.Manifest.Object.Sha256, v2.Manifest.Object.Sha256);
        Assert.Empty(BpfMapSpec.Differences(v1Object.GetMap("packets").Spec, v2Object.GetMap("packets").Spec));
        Assert.DoesNotContain(v1Object.Maps, m => m.Name == "protocols");
        var protocols = v2Object.GetMap("protocols").Spec;
        Assert.Equal((BpfMapType.Array, 256u, 8u), (protocols.Type, protocols.MaxEntries, protocols.ValueSize));
    }

    [Theory]
    [InlineData("v1")]
    [InlineData("v2")]
    [InlineData("v3")]
    public void Artifact_signature_verifies_with_the_demo_public_key_and_fails_when_the_manifest_changes(string dir)
    {
        var artifact = Artifact.Load(ArtifactDir(dir));
        using var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(HostProcess.RepositoryRoot, "samples", "keys", "demo-signing.pub.pem")));
        var signature = artifact.Signature!.Value.ToArray();
        var manifest = artifact.ManifestBytes.ToArray();

        Assert.True(key.VerifyData(manifest, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        manifest[^2] ^= 1;
        Assert.False(key.VerifyData(manifest, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void Private_demo_key_is_marked_demo_only_and_matches_the_public_key()
    {
        var pem = File.ReadAllText(Path.Combine(HostProcess.RepositoryRoot, "samples", "keys", "DEMO-ONLY-signing-key.pem"));
        Assert.StartsWith("DEMO ONLY", pem, StringComparison.Ordinal);
        using var priv = ECDsa.Create();
        priv.ImportFromPem(pem);
        using var pub = ECDsa.Create();
        pub.ImportFromPem(File.ReadAllText(Path.Combine(HostProcess.RepositoryRoot, "samples", "keys", "demo-signing.pub.pem")));
        Assert.Equal(pub.ExportSubjectPublicKeyInfo(), priv.ExportSubjectPublicKeyInfo());
    }
}
