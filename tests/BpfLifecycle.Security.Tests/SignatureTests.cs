// Signature verification with keys and signatures made by the real openssl command, and a tampered corpus.
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Deployment.Security;
using BpfLifecycle.Observability.Audit;
using BpfLifecycle.TestKit;

namespace BpfLifecycle.Security.Tests;

public sealed class SignatureTests : IDisposable
{
    private readonly string _dir;

    public SignatureTests()
    {
        KernelTest.RequireTool("openssl");
        _dir = Directory.CreateTempSubdirectory("bpflc-sec-").FullName;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string SignedArtifact(string key, bool base64 = false, bool newline = false, string version = "1.0.0")
    {
        var art = TestFiles.WriteArtifact(_dir, version: version);
        var sig = Path.Combine(art, Artifact.SignatureFileName);
        OpenSsl.Sign(key, Path.Combine(art, Artifact.ManifestFileName), sig);
        if (base64)
        {
            OpenSsl.ToBase64(sig, newline);
        }

        return art;
    }

    [Theory]
    [InlineData("ec", false, false)]
    [InlineData("ec", true, false)]
    [InlineData("ec", true, true)]
    [InlineData("rsa", false, false)]
    [InlineData("rsa", true, true)]
    public void Signature_made_by_openssl_verifies_and_names_the_key(string kind, bool base64, bool newline)
    {
        var (priv, pub) = kind == "ec" ? OpenSsl.EcKey(_dir, "release") : OpenSsl.RsaKey(_dir, "release");
        var trust = new TrustStore();
        trust.AddFile(pub);
        var art = SignedArtifact(priv, base64, newline);

        var artifact = new SignaturePolicy(trust).LoadVerified(art);

        Assert.Equal("lifecycle-xdp", artifact.Manifest.Name);
        var v = new SignatureVerifier(trust).Verify(artifact.ManifestBytes.Span, artifact.Signature!.Value.Span);
        Assert.True(v.IsValid, v.Reason);
        Assert.Equal("release", v.KeyId);
        Assert.Equal(base64 ? SignatureEncoding.Base64 : SignatureEncoding.Der, v.Encoding);
    }

    [Fact]
    public void Trust_store_names_keys_and_refuses_weak_or_unsupported_ones()
    {
        var (_, ec) = OpenSsl.EcKey(_dir, "ec1");
        var (_, rsa) = OpenSsl.RsaKey(_dir, "rsa1", 3072);
        var (_, small) = OpenSsl.RsaKey(_dir, "small", 1024);
        var (_, p384) = OpenSsl.EcKey(_dir, "p384", "secp384r1");

        var trust = new TrustStore();
        var k1 = trust.AddFile(ec);
        var k2 = trust.AddFile(rsa, "rsa-key");
        Assert.Equal(TrustedKeyAlgorithm.EcdsaP256Sha256, k1.Algorithm);
        Assert.Equal(TrustedKeyAlgorithm.RsaPkcs1Sha256, k2.Algorithm);
        Assert.Equal(3072, k2.KeySizeBits);
        Assert.Equal(["ec1", "rsa-key"], trust.Keys.Select(k => k.KeyId));

        var e1 = Assert.Throws<TrustStoreException>(() => trust.AddFile(small));
        Assert.Contains("1024 bits is too small", e1.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<TrustStoreException>(() => trust.AddFile(p384));
        Assert.Contains("only P-256", e2.Message, StringComparison.Ordinal);
        var e3 = Assert.Throws<TrustStoreException>(() => trust.AddFile(ec));
        Assert.Contains("already trusted", e3.Message, StringComparison.Ordinal);
        var e4 = Assert.Throws<TrustStoreException>(() => TrustedKey.FromPem("priv", File.ReadAllText(Path.Combine(_dir, "ec1.key"))));
        Assert.Contains("expected 'PUBLIC KEY'", e4.Message, StringComparison.Ordinal);
        Assert.Throws<TrustStoreException>(() => TrustedKey.FromPem("none", "not a pem"));

        var dirStore = new TrustStore().AddDirectory(Path.Combine(_dir, "keys-" + Guid.NewGuid().ToString("N")) is var d && Directory.CreateDirectory(d) is not null && Copy(ec, d) ? d : d);
        Assert.Single(dirStore.Keys);
    }

    private static bool Copy(string file, string dir)
    {
        File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return true;
    }

    [Fact]
    public void Tampered_corpus_is_refused_with_a_clear_error()
    {
        var (priv, pub) = OpenSsl.EcKey(_dir, "release");
        var (rsaPriv, rsaPub) = OpenSsl.RsaKey(_dir, "release-rsa");
        var (otherPriv, _) = OpenSsl.EcKey(_dir, "stranger");
        var trust = new TrustStore();
        trust.AddFile(pub);
        trust.AddFile(rsaPub);
        var policy = new SignaturePolicy(trust, new SignaturePolicyOptions { AllowUnsigned = true });
        var good = SignedArtifact(priv);
        policy.LoadVerified(good);
        var manifestBytes = File.ReadAllBytes(Path.Combine(good, Artifact.ManifestFileName));
        var sigBytes = File.ReadAllBytes(Path.Combine(good, Artifact.SignatureFileName));
        var objBytes = File.ReadAllBytes(Path.Combine(good, "lifecycle_xdp.o"));
        var cases = 0;

        void Expect<TException>(string label, Action<string> mutate, string expected) where TException : Exception
        {
            var copy = Path.Combine(_dir, "case-" + cases++);
            Directory.CreateDirectory(copy);
            foreach (var f in Directory.GetFiles(good))
            {
                File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
            }

            mutate(copy);
            var e = Assert.Throws<TException>(() => policy.LoadVerified(copy));
            Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{label}: '{e.Message}' does not contain '{expected}'");
            Directory.Delete(copy, recursive: true);
        }

        // A bit flipped at every offset of the manifest (cycling through bit positions).
        for (var i = 0; i < manifestBytes.Length; i++)
        {
            var offset = i;
            Expect<DeploymentRefusedException>($"manifest bit flip at {offset}", d =>
            {
                var m = manifestBytes.ToArray();
                m[offset] ^= (byte)(1 << (offset % 8));
                File.WriteAllBytes(Path.Combine(d, Artifact.ManifestFileName), m);
            }, "does not verify with any trusted key");
        }

        // Bit flips spread over the object: the signed manifest pins its SHA-256.
        for (var offset = 0; offset < objBytes.Length; offset += Math.Max(1, objBytes.Length / 97))
        {
            var o = offset;
            Expect<ArtifactValidationException>($"object bit flip at {o}", d =>
            {
                var b = objBytes.ToArray();
                b[o] ^= (byte)(1 << (o % 8));
                File.WriteAllBytes(Path.Combine(d, "lifecycle_xdp.o"), b);
            }, "does not match the manifest's");
        }

        // Bit flips in the signature.
        for (var offset = 0; offset < sigBytes.Length; offset++)
        {
            var o = offset;
            Expect<DeploymentRefusedException>($"signature bit flip at {o}", d =>
            {
                var s = sigBytes.ToArray();
                s[o] ^= (byte)(1 << (o % 8));
                File.WriteAllBytes(Path.Combine(d, Artifact.SignatureFileName), s);
            }, "manifest.json.sig is invalid");
        }

        Expect<DeploymentRefusedException>("truncated manifest", d => File.WriteAllBytes(Path.Combine(d, Artifact.ManifestFileName), manifestBytes[..(manifestBytes.Length / 2)]), "does not verify");
        Expect<DeploymentRefusedException>("manifest with one byte removed", d => File.WriteAllBytes(Path.Combine(d, Artifact.ManifestFileName), manifestBytes[..^1]), "does not verify");
        Expect<ArtifactValidationException>("truncated object", d => File.WriteAllBytes(Path.Combine(d, "lifecycle_xdp.o"), objBytes[..(objBytes.Length / 2)]), "does not match the manifest's");
        Expect<ArtifactValidationException>("empty object", d => File.WriteAllBytes(Path.Combine(d, "lifecycle_xdp.o"), []), "does not match the manifest's");
        Expect<DeploymentRefusedException>("truncated signature", d => File.WriteAllBytes(Path.Combine(d, Artifact.SignatureFileName), sigBytes[..(sigBytes.Length / 2)]), "does not verify");
        Expect<DeploymentRefusedException>("signature missing its last byte", d => File.WriteAllBytes(Path.Combine(d, Artifact.SignatureFileName), sigBytes[..^1]), "does not verify");
        Expect<DeploymentRefusedException>("truncated base64 signature", d => File.WriteAllText(Path.Combine(d, Artifact.SignatureFileName), Convert.ToBase64String(sigBytes)[..20]), "does not verify");
        Expect<DeploymentRefusedException>("empty signature", d => File.WriteAllBytes(Path.Combine(d, Artifact.SignatureFileName), []), "the signature is empty");
        Expect<DeploymentRefusedException>("whitespace signature", d => File.WriteAllText(Path.Combine(d, Artifact.SignatureFileName), "\n"), "does not verify");
        Expect<DeploymentRefusedException>("wrong key", d => OpenSsl.Sign(otherPriv, Path.Combine(d, Artifact.ManifestFileName), Path.Combine(d, Artifact.SignatureFileName)), "does not verify with any trusted key");
        Expect<DeploymentRefusedException>("RSA signature over another file", d =>
        {
            var other = SignedArtifact(rsaPriv, version: "9.9." + cases);
            File.Copy(Path.Combine(other, Artifact.SignatureFileName), Path.Combine(d, Artifact.SignatureFileName), overwrite: true);
        }, "does not verify");
        Expect<DeploymentRefusedException>("another file's signature", d =>
        {
            var other = SignedArtifact(priv, version: "2.0." + cases);
            File.Copy(Path.Combine(other, Artifact.SignatureFileName), Path.Combine(d, Artifact.SignatureFileName), overwrite: true);
        }, "does not verify with any trusted key");
        Expect<DeploymentRefusedException>("signature of the object instead of the manifest", d => OpenSsl.Sign(priv, Path.Combine(d, "lifecycle_xdp.o"), Path.Combine(d, Artifact.SignatureFileName)), "does not verify");

        Assert.True(cases > manifestBytes.Length + sigBytes.Length + 90, $"{cases} cases");
    }

    [Fact]
    public void Unsigned_is_refused_by_default_and_allowed_only_explicitly_with_an_audit_entry()
    {
        var (_, pub) = OpenSsl.EcKey(_dir, "release");
        var trust = new TrustStore();
        trust.AddFile(pub);
        var art = TestFiles.WriteArtifact(_dir);
        var auditPath = Path.Combine(_dir, "audit.jsonl");
        using var audit = new FileAuditLog(new FileAuditLogOptions { Path = auditPath });

        var e = Assert.Throws<DeploymentRefusedException>(() => new SignaturePolicy(trust, audit: audit).LoadVerified(art));
        Assert.Equal("signature", e.Gate);
        Assert.Contains("policy requires a signature", e.Reason, StringComparison.Ordinal);

        var artifact = new SignaturePolicy(trust, new SignaturePolicyOptions { AllowUnsigned = true }, audit).LoadVerified(art);
        Assert.Null(artifact.Signature);
        Assert.True(new SignaturePolicy(trust, new SignaturePolicyOptions { AllowUnsigned = true }, audit).Evaluate(artifact).Allowed);
        Assert.False(new SignaturePolicy(trust, audit: audit).Evaluate(artifact).Allowed);

        var entries = AuditLogVerifier.ReadAll(auditPath);
        Assert.Equal([AuditAction.GateDecision, AuditAction.UnsignedArtifactAllowed, AuditAction.UnsignedArtifactAllowed, AuditAction.GateDecision], entries.Select(x => x.Action));
        Assert.Equal("lifecycle-xdp", entries[2].Program);
        Assert.Equal(artifact.Sha256, entries[2].ArtifactSha256);
        Assert.Equal(AuditOutcome.Refused, entries[0].Outcome);
        Assert.Equal("AllowUnsigned", entries[1].Details["policy"]);
    }

    [Fact]
    public async Task Signature_gate_refuses_through_the_gate_contract()
    {
        var (priv, pub) = OpenSsl.EcKey(_dir, "release");
        var (otherPriv, _) = OpenSsl.EcKey(_dir, "other");
        var trust = new TrustStore();
        trust.AddFile(pub);
        var gate = new SignatureGate(new SignaturePolicy(trust));
        Assert.Equal(100, gate.Order);
        Assert.Equal("signature", gate.Name);

        var good = Artifact.Load(SignedArtifact(priv));
        var allowed = await gate.CheckAsync(new GateContext("app", good, []), TestContext.Current.CancellationToken);
        Assert.True(allowed.Allowed, allowed.Reason);
        Assert.Contains("'release'", allowed.Reason, StringComparison.Ordinal);

        var bad = Artifact.Load(SignedArtifact(otherPriv, version: "2.0.0"));
        var denied = await gate.CheckAsync(new GateContext("app", bad, []), TestContext.Current.CancellationToken);
        Assert.False(denied.Allowed);
        Assert.Contains("lifecycle-xdp 2.0.0", denied.Reason, StringComparison.Ordinal);
        Assert.Contains("does not verify with any trusted key (tried 'release')", denied.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Verifier_with_an_empty_trust_store_or_unknown_key_id_says_so()
    {
        var (priv, pub) = OpenSsl.EcKey(_dir, "release");
        var art = SignedArtifact(priv);
        var manifest = File.ReadAllBytes(Path.Combine(art, Artifact.ManifestFileName));
        var sig = File.ReadAllBytes(Path.Combine(art, Artifact.SignatureFileName));

        Assert.Equal("the trust store holds no keys", new SignatureVerifier(new TrustStore()).Verify(manifest, sig).Reason);
        var trust = new TrustStore();
        trust.AddFile(pub);
        Assert.Contains("key id 'nope' is not in the trust store", new SignatureVerifier(trust).Verify(manifest, sig, "nope").Reason, StringComparison.Ordinal);
        Assert.True(new SignatureVerifier(trust).Verify(manifest, sig, "release").IsValid);
        Assert.True(trust.Remove("release"));
        Assert.False(new SignatureVerifier(trust).Verify(manifest, sig).IsValid);
    }
}
