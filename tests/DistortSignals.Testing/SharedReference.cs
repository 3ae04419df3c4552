namespace DistortSignals.Testing;

/// <summary>
/// Locates the repository (the folder holding DistortSignals.sln, found by walking up from the test
/// binaries) and the shared reference data: <c>DS_SHARED_DIR</c> if set, otherwise <c>../shared</c> beside it.
/// </summary>
public static class SharedReference
{
    public const string EnvironmentVariable = "DS_SHARED_DIR";

    /// <summary>Full path of a folder under the shared folder; fails with the path looked at when it is missing.</summary>
    public static string Directory(string relativePath)
    {
        var shared = SharedRoot();
        var path = Path.GetFullPath(Path.Combine(shared, relativePath));
        if (!System.IO.Directory.Exists(path))
        {
            throw new DirectoryNotFoundException(
                $"shared reference folder not found: {path} (set {EnvironmentVariable} to the shared folder to override)");
        }

        return path;
    }

    /// <summary>The folder holding DistortSignals.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DistortSignals.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException(
            $"DistortSignals.sln not found above {AppContext.BaseDirectory}; set {EnvironmentVariable} to the shared folder");
    }

    private static string SharedRoot()
    {
        var overridden = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(overridden) ? Path.Combine(RepositoryRoot(), "..", "shared") : overridden;
    }
}
