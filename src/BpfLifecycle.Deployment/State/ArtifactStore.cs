// Content-addressed artifact storage: every deployed artifact is copied under artifacts/<sha256>/ so
// any retained version can be reloaded later, even after its source directory is gone.
using BpfLifecycle.Deployment.Artifacts;

namespace BpfLifecycle.Deployment.State;

/// <summary>Artifacts stored by the SHA-256 of their manifest under a state directory.</summary>
public sealed class ArtifactStore
{
    /// <summary>Creates a store rooted at <paramref name="directory"/>.</summary>
    public ArtifactStore(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = directory;
    }

    /// <summary>Root directory of the store.</summary>
    public string Directory { get; }

    /// <summary>Stores an artifact (idempotent) and returns its content address.</summary>
    public string Put(Artifact artifact)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        var dir = PathOf(artifact.Sha256);
        if (System.IO.Directory.Exists(dir) && File.Exists(Path.Combine(dir, Artifact.ManifestFileName)))
        {
            return artifact.Sha256;
        }

        AtomicFile.WriteAllBytes(Path.Combine(dir, artifact.Manifest.Object.File), artifact.ObjectBytes.Span);
        if (artifact.Signature is { } sig)
        {
            AtomicFile.WriteAllBytes(Path.Combine(dir, Artifact.SignatureFileName), sig.Span);
        }

        // The manifest goes last: its presence marks a complete entry.
        AtomicFile.WriteAllBytes(Path.Combine(dir, Artifact.ManifestFileName), artifact.ManifestBytes.Span);
        return artifact.Sha256;
    }

    /// <summary>Loads a stored artifact; the error names the hash when it is missing.</summary>
    public Artifact Get(string sha256)
    {
        var dir = PathOf(sha256);
        if (!File.Exists(Path.Combine(dir, Artifact.ManifestFileName)))
        {
            throw new ArtifactValidationException($"Artifact {sha256} is not in the artifact store '{Directory}'.");
        }

        return Artifact.Load(dir);
    }

    /// <summary>True when the artifact is stored.</summary>
    public bool Contains(string sha256) => File.Exists(Path.Combine(PathOf(sha256), Artifact.ManifestFileName));

    /// <summary>Removes a stored artifact.</summary>
    public void Remove(string sha256)
    {
        var dir = PathOf(sha256);
        if (System.IO.Directory.Exists(dir))
        {
            System.IO.Directory.Delete(dir, recursive: true);
        }
    }

    private string PathOf(string sha256)
    {
        if (sha256 is not { Length: 64 } || !sha256.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"'{sha256}' is not a SHA-256 hex digest.", nameof(sha256));
        }

        return Path.Combine(Directory, sha256.ToLowerInvariant());
    }
}
