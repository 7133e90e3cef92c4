namespace Junis.Server.Tests.Sessions;

/// <summary>The id a new named conversation's session gets: the same for the same organization and name, every time.</summary>
public sealed class NamedSessionIdTests
{
    private static readonly Guid Organization = new("0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b");

    [Fact]
    public void TheSameOrganizationAndNameGiveTheSameId()
    {
        Assert.Equal(Ids.Named(Organization, "conv-1"), Ids.Named(Organization, "conv-1"));
        Assert.Equal(Ids.Named(Organization, "conv-1"), Ids.Named(new Guid(Organization.ToString()), new string("conv-1".AsSpan())));
    }

    [Fact]
    public void AnotherOrganizationOrAnotherNameGivesAnotherId()
    {
        var names = new[] { "conv-1", "conv-2", "Conv-1", "conv-1 ", "", "Gespräch-1", Organization.ToString() };
        var organizations = new[] { Organization, Guid.NewGuid(), Guid.Empty };

        var ids = organizations.SelectMany(o => names.Select(n => Ids.Named(o, n))).ToList();

        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void ItIsAVersion8UuidOfTheRfc9562Variant()
    {
        foreach (var name in new[] { "conv-1", "", "Gespräch-1", new string('x', 300) })
        {
            var id = Ids.Named(Organization, name);

            Assert.Equal(8, id.Version);
            Assert.Contains(id.ToString()[19], "89ab");
            Assert.NotEqual(Organization, id);
        }
    }

    [Fact]
    public void TheDerivationIsSha256OfTheNamespaceTheOrganizationAndTheUtf8Name()
    {
        // Computed apart from the server: the first 16 bytes of SHA-256 over the namespace
        // 6a7b514d-04c8-4fe7-9b25-d6d4edea9256, the organization and the name, each in network byte order,
        // with the version and variant bits then set.
        Assert.Equal(new Guid("bb713205-b6b7-84cb-b20c-fb6202e9f295"), Ids.Named(Organization, "conv-1"));
        Assert.Equal(new Guid("6d06e65e-9eb9-8306-a375-252420a536dd"), Ids.Named(Organization, "Gespräch-1"));
    }
}
