// Typed errors for the ways attaching and updating links fail, with messages that name the object involved.
namespace BpfLifecycle.Interop;

/// <summary>The attach point is taken: e.g. a device already has an XDP program attached (EBUSY or EEXIST).</summary>
public sealed class BpfAttachConflictException : BpfException
{
    /// <summary>Creates a conflict error for <paramref name="target"/>.</summary>
    public BpfAttachConflictException(BpfCommand command, int errno, string target, string detail)
        : base(command, errno, detail)
    {
        Target = target;
    }

    /// <summary>The attach point, e.g. <c>XDP on veth0 (ifindex 5)</c>.</summary>
    public string Target { get; }
}

/// <summary>The link was detached (BPF_LINK_DETACH, or its target went away): the kernel answers ENOLINK.</summary>
public sealed class BpfLinkDetachedException : BpfException
{
    /// <summary>Creates an error for an operation on the detached link <paramref name="linkId"/>.</summary>
    public BpfLinkDetachedException(BpfCommand command, uint linkId, string target)
        : base(command, Interop.Errno.ENOLINK, $"link {linkId} ({target}) was detached; create a new link to attach again")
    {
        LinkId = linkId;
    }

    /// <summary>The id of the detached link.</summary>
    public uint LinkId { get; }
}

/// <summary>A compare-and-swap link update failed because the attached program is not the expected one (EPERM).</summary>
public sealed class BpfLinkProgramMismatchException : BpfException
{
    /// <summary>Creates a mismatch error.</summary>
    public BpfLinkProgramMismatchException(uint linkId, uint expectedProgramId, uint attachedProgramId)
        : base(BpfCommand.LinkUpdate, Interop.Errno.EPERM, $"expected program {expectedProgramId} is not the one attached to link {linkId} (program {attachedProgramId} is); the link was not changed")
    {
        LinkId = linkId;
        ExpectedProgramId = expectedProgramId;
        AttachedProgramId = attachedProgramId;
    }

    /// <summary>The link that was not updated.</summary>
    public uint LinkId { get; }

    /// <summary>The program id the caller expected to replace.</summary>
    public uint ExpectedProgramId { get; }

    /// <summary>The program id attached when the update was refused.</summary>
    public uint AttachedProgramId { get; }
}
