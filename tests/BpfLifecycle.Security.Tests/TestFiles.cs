// Shared helpers: artifact directories, and openssl keys and signatures.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Security.Tests;

internal static class TestFiles
{
    /// <summary>Writes an unsigned artifact directory for bpf/obj/lifecycle_xdp.o.</summary>
    public static string WriteArtifact(string parent, string name = "lifecycle-xdp", string version = "1.0.0")
    {
        var dir = Path.Combine(parent, $"{name}-{version}");
        Directory.CreateDirectory(dir);
        var obj = File.ReadAllBytes(Repository.BpfObject("lifecycle_xdp"));
        File.WriteAllBytes(Path.Combine(dir, "lifecycle_xdp.o"), obj);
        var manifest = new ArtifactManifest
        {
            Name = name,
            Version = version,
            Object = new ArtifactObject("lifecycle_xdp.o", Convert.ToHexStringLower(SHA256.HashData(obj))),
            Programs = [new ArtifactProgram("lifecycle_xdp", ["xdp:veth0"])],
            StateMaps = ["packets"],
        };
        File.WriteAllBytes(Path.Combine(dir, Artifact.ManifestFileName), JsonSerializer.SerializeToUtf8Bytes(manifest, ArtifactManifest.JsonOptions));
        return dir;
    }
}

internal static class OpenSsl
{
    public static void Run(params string[] args) => Tool.RunChecked("openssl", args);

    /// <summary>Makes a P-256 key pair; returns (private key path, public key path).</summary>
    public static (string Private, string Public) EcKey(string dir, string name, string curve = "prime256v1")
    {
        var key = Path.Combine(dir, name + ".key");
        var pub = Path.Combine(dir, name + ".pub");
        Run("genpkey", "-algorithm", "EC", "-pkeyopt", $"ec_paramgen_curve:{curve}", "-out", key);
        Run("pkey", "-in", key, "-pubout", "-out", pub);
        return (key, pub);
    }

    public static (string Private, string Public) RsaKey(string dir, string name, int bits = 2048)
    {
        var key = Path.Combine(dir, name + ".key");
        var pub = Path.Combine(dir, name + ".pub");
        Run("genpkey", "-algorithm", "RSA", "-pkeyopt", $"rsa_keygen_bits:{bits}", "-out", key);
        Run("pkey", "-in", key, "-pubout", "-out", pub);
        return (key, pub);
    }

    /// <summary>openssl dgst -sha256 -sign key -out sig file (DER for EC, PKCS#1 v1.5 for RSA).</summary>
    public static void Sign(string key, string file, string signature) => Run("dgst", "-sha256", "-sign", key, "-out", signature, file);

    /// <summary>Rewrites a signature as base64 text (what cosign sign-blob writes).</summary>
    public static void ToBase64(string signature, bool newline)
    {
        var text = Convert.ToBase64String(File.ReadAllBytes(signature));
        File.WriteAllText(signature, newline ? text + "\n" : text);
    }
}
