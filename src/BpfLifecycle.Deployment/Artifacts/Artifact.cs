// An artifact directory read from disk and validated: manifest.json, its detached signature and the object.
using System.Security.Cryptography;
using System.Text.Json;

namespace BpfLifecycle.Deployment.Artifacts;

/// <summary>The artifact is malformed: the message names the file and the problem.</summary>
public sealed class ArtifactValidationException : Exception
{
    /// <summary>Creates the error.</summary>
    public ArtifactValidationException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>
/// A validated artifact: <c>manifest.json</c>, optional <c>manifest.json.sig</c> (detached signature over the
/// manifest bytes) and the ELF object whose SHA-256 the manifest pins. Reading it never touches the kernel.
/// </summary>
public sealed class Artifact
{
    /// <summary>Manifest file name inside an artifact directory.</summary>
    public const string ManifestFileName = "manifest.json";

    /// <summary>Signature file name inside an artifact directory.</summary>
    public const string SignatureFileName = "manifest.json.sig";

    private Artifact(string directory, ArtifactManifest manifest, byte[] manifestBytes, byte[]? signature, byte[] objectBytes)
    {
        Directory = directory;
        Manifest = manifest;
        ManifestBytes = manifestBytes;
        // A missing signature file stays null: an empty buffer would read as "signed with nothing".
        Signature = signature is null ? default(ReadOnlyMemory<byte>?) : new ReadOnlyMemory<byte>(signature);
        ObjectBytes = objectBytes;
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(manifestBytes));
    }

    /// <summary>The directory the artifact was read from.</summary>
    public string Directory { get; }

    /// <summary>The parsed manifest.</summary>
    public ArtifactManifest Manifest { get; }

    /// <summary>The manifest's exact bytes (what the signature covers).</summary>
    public ReadOnlyMemory<byte> ManifestBytes { get; }

    /// <summary>The detached signature bytes as found on disk (DER or base64 of DER), or null when unsigned.</summary>
    public ReadOnlyMemory<byte>? Signature { get; }

    /// <summary>The ELF object's bytes (verified against the manifest's SHA-256).</summary>
    public ReadOnlyMemory<byte> ObjectBytes { get; }

    /// <summary>Content address of the artifact: lowercase hex SHA-256 of the manifest (which pins the object).</summary>
    public string Sha256 { get; }

    /// <summary>Full path of the object file.</summary>
    public string ObjectPath => Path.Combine(Directory, Manifest.Object.File);

    /// <summary>Reads and validates an artifact directory.</summary>
    public static Artifact Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new ArtifactValidationException($"Artifact directory '{directory}' does not exist.");
        }

        var manifestPath = Path.Combine(directory, ManifestFileName);
        if (!File.Exists(manifestPath))
        {
            throw new ArtifactValidationException($"Artifact '{directory}' has no {ManifestFileName}.");
        }

        var manifestBytes = File.ReadAllBytes(manifestPath);
        var manifest = Parse(manifestBytes, manifestPath);
        var objectPath = Path.Combine(directory, manifest.Object.File);
        if (!File.Exists(objectPath))
        {
            throw new ArtifactValidationException($"{manifestPath}: object file '{manifest.Object.File}' does not exist.");
        }

        var objectBytes = File.ReadAllBytes(objectPath);
        var actual = Convert.ToHexStringLower(SHA256.HashData(objectBytes));
        if (!string.Equals(actual, manifest.Object.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArtifactValidationException($"{objectPath}: SHA-256 {actual} does not match the manifest's {manifest.Object.Sha256}.");
        }

        if (objectBytes.Length < 64 || objectBytes[0] != 0x7f || objectBytes[1] != (byte)'E' || objectBytes[2] != (byte)'L' || objectBytes[3] != (byte)'F')
        {
            throw new ArtifactValidationException($"{objectPath}: not an ELF file.");
        }

        if (objectBytes[4] != 2 || BitConverter.ToUInt16(objectBytes, 18) != 247)
        {
            throw new ArtifactValidationException($"{objectPath}: not a 64-bit eBPF ELF object (EM_BPF).");
        }

        var sigPath = Path.Combine(directory, SignatureFileName);
        var signature = File.Exists(sigPath) ? File.ReadAllBytes(sigPath) : null;
        return new Artifact(Path.GetFullPath(directory), manifest, manifestBytes, signature, objectBytes);
    }

    /// <summary>Parses and validates manifest bytes; errors name the file and field.</summary>
    public static ArtifactManifest Parse(ReadOnlySpan<byte> manifestBytes, string source = ManifestFileName)
    {
        ArtifactManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ArtifactManifest>(manifestBytes, ArtifactManifest.JsonOptions);
        }
        catch (JsonException e)
        {
            throw new ArtifactValidationException($"{source}: invalid manifest: {e.Message}", e);
        }

        if (manifest is null)
        {
            throw new ArtifactValidationException($"{source}: empty manifest.");
        }

        Require(!string.IsNullOrWhiteSpace(manifest.Name), source, "name is empty");
        Require(manifest.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'), source, $"name '{manifest.Name}' may only contain letters, digits, '-', '_' and '.'");
        Require(!string.IsNullOrWhiteSpace(manifest.Version), source, "version is empty");
        Require(manifest.Object is not null && !string.IsNullOrWhiteSpace(manifest.Object.File), source, "object.file is empty");
        Require(Path.GetFileName(manifest.Object!.File) == manifest.Object.File, source, $"object.file '{manifest.Object.File}' must be a file name inside the artifact directory");
        Require(manifest.Object.Sha256 is { Length: 64 } h && h.All(char.IsAsciiHexDigit), source, "object.sha256 must be 64 hex digits");
        Require(manifest.Programs is { Count: > 0 }, source, "programs is empty");
        foreach (var p in manifest.Programs)
        {
            Require(!string.IsNullOrWhiteSpace(p.Name), source, "a program has no name");
            foreach (var a in p.Attach ?? [])
            {
                try
                {
                    AttachPoint.Parse(a);
                }
                catch (FormatException e)
                {
                    throw new ArtifactValidationException($"{source}: programs[{p.Name}].attach: {e.Message}", e);
                }
            }
        }

        var programNames = manifest.Programs.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var v in manifest.TestVectors)
        {
            Require(programNames.Contains(v.Program), source, $"testVectors[{v.Name}].program '{v.Program}' is not one of the programs");
            Require(v.InputHex.Length % 2 == 0 && v.InputHex.All(char.IsAsciiHexDigit), source, $"testVectors[{v.Name}].inputHex is not hex");
        }

        if (manifest.Limits is { } l)
        {
            Require(l.MaxMapMemoryBytes is null or > 0, source, "limits.maxMapMemoryBytes must be positive");
            Require(l.MaxCpuShare is null or (> 0 and <= 1), source, "limits.maxCpuShare must be in (0, 1]");
        }

        return manifest;
    }

    private static void Require(bool condition, string source, string problem)
    {
        if (!condition)
        {
            throw new ArtifactValidationException($"{source}: {problem}.");
        }
    }
}
