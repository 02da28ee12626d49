// The signature policy and the gate that enforces it before an artifact reaches the kernel.
using BpfLifecycle.Deployment.Artifacts;
using BpfLifecycle.Deployment.Gates;
using BpfLifecycle.Observability.Audit;

namespace BpfLifecycle.Deployment.Security;

/// <summary>Signature policy.</summary>
public sealed class SignaturePolicyOptions
{
    /// <summary>
    /// Let artifacts without <c>manifest.json.sig</c> through. Default false: a signature is required.
    /// Every unsigned artifact let through is written to the audit log. A signature that is present is always
    /// checked, and a bad one is refused even when unsigned artifacts are allowed.
    /// </summary>
    public bool AllowUnsigned { get; set; }
}

/// <summary>Applies the signature policy to artifacts.</summary>
public sealed class SignaturePolicy
{
    private readonly SignatureVerifier _verifier;
    private readonly SignaturePolicyOptions _options;
    private readonly IAuditLog? _audit;

    /// <summary>Creates the policy.</summary>
    public SignaturePolicy(TrustStore trustStore, SignaturePolicyOptions? options = null, IAuditLog? audit = null)
    {
        _verifier = new SignatureVerifier(trustStore);
        _options = options ?? new SignaturePolicyOptions();
        _audit = audit;
    }

    /// <summary>Checks the signature of a loaded artifact against the policy.</summary>
    public GateResult Evaluate(Artifact artifact)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        // Artifact.Signature converts a missing file to an empty buffer, so absence is decided by the file itself.
        byte[]? signature = artifact.Signature is { Length: > 0 } s ? s.ToArray()
            : File.Exists(Path.Combine(artifact.Directory, Artifact.SignatureFileName)) ? [] : null;
        return Evaluate(artifact.ManifestBytes.Span, signature, $"{artifact.Manifest.Name} {artifact.Manifest.Version}", artifact);
    }

    /// <summary>
    /// Checks an artifact directory's signature before anything in it is parsed; then loads it.
    /// This is the order to use: a manifest that does not verify is never interpreted.
    /// </summary>
    /// <exception cref="DeploymentRefusedException">The signature is missing (and required), empty or does not verify.</exception>
    /// <exception cref="ArtifactValidationException">The artifact is malformed (e.g. the object does not match the signed manifest).</exception>
    public Artifact LoadVerified(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var manifestPath = Path.Combine(directory, Artifact.ManifestFileName);
        if (!File.Exists(manifestPath))
        {
            throw new ArtifactValidationException($"Artifact '{directory}' has no {Artifact.ManifestFileName}.");
        }

        var manifestBytes = File.ReadAllBytes(manifestPath);
        var sigPath = Path.Combine(directory, Artifact.SignatureFileName);
        var signature = File.Exists(sigPath) ? File.ReadAllBytes(sigPath) : null;
        var result = Evaluate(manifestBytes, signature, directory, null);
        if (!result.Allowed)
        {
            throw new DeploymentRefusedException(SignatureGate.GateName, result.Reason);
        }

        var artifact = Artifact.Load(directory);
        if (!artifact.ManifestBytes.Span.SequenceEqual(manifestBytes))
        {
            throw new DeploymentRefusedException(SignatureGate.GateName, $"{manifestPath} changed while it was being verified.");
        }

        return artifact;
    }

    private GateResult Evaluate(ReadOnlySpan<byte> manifest, byte[]? signature, string what, Artifact? artifact)
    {
        if (signature is null)
        {
            if (!_options.AllowUnsigned)
            {
                return Refuse(artifact, what, $"{what} has no {Artifact.SignatureFileName} and policy requires a signature (set AllowUnsigned to accept unsigned artifacts)");
            }

            _audit?.Append(new AuditEvent(AuditAction.UnsignedArtifactAllowed, AuditOutcome.Success)
            {
                Program = artifact?.Manifest.Name,
                Version = artifact?.Manifest.Version,
                ArtifactSha256 = artifact?.Sha256,
                Details = new Dictionary<string, string?> { ["artifact"] = what, ["policy"] = "AllowUnsigned" },
            });
            return GateResult.Allow($"{what} is unsigned; allowed by policy (AllowUnsigned), audited");
        }

        var v = _verifier.Verify(manifest, signature);
        return v.IsValid
            ? GateResult.Allow($"{what}: {v.Reason}")
            : Refuse(artifact, what, $"{what}: {Artifact.SignatureFileName} is invalid: {v.Reason}");
    }

    private GateResult Refuse(Artifact? artifact, string what, string reason)
    {
        _audit?.Append(new AuditEvent(AuditAction.GateDecision, AuditOutcome.Refused)
        {
            Program = artifact?.Manifest.Name,
            Version = artifact?.Manifest.Version,
            ArtifactSha256 = artifact?.Sha256,
            Details = new Dictionary<string, string?> { ["gate"] = SignatureGate.GateName, ["artifact"] = what, ["reason"] = reason },
        });
        return GateResult.Deny(reason);
    }
}

/// <summary>The deployment gate that requires a valid signature by a trusted key (order 100).</summary>
public sealed class SignatureGate : IDeploymentGate
{
    /// <summary>The gate's name.</summary>
    public const string GateName = "signature";

    private readonly SignaturePolicy _policy;

    /// <summary>Creates the gate.</summary>
    public SignatureGate(SignaturePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
    }

    /// <inheritdoc />
    public string Name => GateName;

    /// <inheritdoc />
    public int Order => 100;

    /// <inheritdoc />
    public ValueTask<GateResult> CheckAsync(GateContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_policy.Evaluate(context.Artifact));
    }
}
