// The sample artifacts must stay loadable and correctly signed: the demo and the docs depend on them.
using System.Security.Cryptography;
using BpfLifecycle.Deployment.Artifacts;

namespace BpfLifecycle.Host.Tests;

public sealed class SampleArtifactTests
{
    private static string ArtifactDir(string version) => Path.Combine(HostProcess.RepositoryRoot, "samples", "artifacts", version);

    [Theory]
    [InlineData("v1", "1.0.0", 0ul)]
    [InlineData("v2", "1.1.0", 0ul)]
    [InlineData("v3", "1.2.0", 4ul)]
    public void Artifact_is_valid_pins_its_object_and_sets_the_fault_only_in_v3(string dir, string version, ulong errorEvery)
    {
        var artifact = Artifact.Load(ArtifactDir(dir));

        Assert.Equal("lifecycle-xdp", artifact.Manifest.Name);
        Assert.Equal(version, artifact.Manifest.Version);
        Assert.Equal(errorEvery, artifact.Manifest.Globals["error_every"]);
        Assert.Equal(["packets"], artifact.Manifest.StateMaps);
        Assert.Equal("lifecycle_xdp", Assert.Single(artifact.Manifest.Programs).Name);
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
