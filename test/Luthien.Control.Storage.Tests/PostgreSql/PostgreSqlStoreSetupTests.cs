using Luthien.Control.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Luthien.Control.Storage.Tests.PostgreSql;

/// <summary>Registering and making the PostgreSQL store, which needs no server: it connects at first use.</summary>
[TestFixture]
public sealed class PostgreSqlStoreSetupTests
{
    private const string ConnectionString = "Host=127.0.0.1;Port=1;Username=luthien;Password=s3cret-pw-9f8e;Database=luthien";

    private static List<ControlStoreRegistration> Registrations(IServiceCollection services) =>
        services.Where(d => d.ServiceType == typeof(ControlStoreRegistration)).Select(d => (ControlStoreRegistration)d.ImplementationInstance!).ToList();

    [Test]
    public void AddPostgreSqlStore_Registered_OffersThePostgreSqlStore()
    {
        var services = new ServiceCollection();

        new LuthienControlBuilder(services).AddPostgreSqlStore();

        var registration = Registrations(services).Single();
        Assert.That(registration.Provider, Is.EqualTo(TransactionLogProvider.PostgreSql));
        Assert.That(registration.Package, Is.EqualTo("Luthien.Control.PostgreSql"));
        using var store = (PostgreSqlControlStore)registration.Create(ConnectionString);
    }

    [Test]
    public void Constructor_NoHost_RefusedNamingTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new PostgreSqlControlStore("Username=luthien;Password=s3cret-pw-9f8e"));

        Assert.That(error!.Message, Does.Contain("Host=").And.Not.Contain("s3cret-pw-9f8e"));
    }

    [TestCase("Host=db;Password=s3cret-pw-9f8e;NoSuchSetting=1")]
    [TestCase("Host=db;Password=s3cret-pw-9f8e;Port=not-a-port")]
    [TestCase("Host=db;Password=s3cret-pw-9f8e;Port=5432;=")]
    public void Constructor_MalformedConnectionString_RefusedWithoutShowingThePassword(string connectionString)
    {
        var error = Assert.Catch<ArgumentException>(() => new PostgreSqlControlStore(connectionString));

        Assert.That(error!.ToString(), Does.Not.Contain("s3cret-pw-9f8e"));
    }

    [Test]
    public async Task ControlStores_Disposed_DisposesTheStoreItMade()
    {
        var options = Options.Create(new LuthienOptions
        {
            TransactionLog = { Provider = TransactionLogProvider.PostgreSql, ConnectionString = ConnectionString },
        });
        var services = new ServiceCollection();
        new LuthienControlBuilder(services).AddPostgreSqlStore();
        var stores = new ControlStores(options, Registrations(services));
        var store = stores.Store!;

        await stores.DisposeAsync();

        Assert.That(() => store.InitializeAsync(CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public void ControlStores_DisposedWithoutMakingAStore_MakesNone()
    {
        var made = 0;
        var options = Options.Create(new LuthienOptions
        {
            TransactionLog = { Provider = TransactionLogProvider.PostgreSql, ConnectionString = ConnectionString },
        });
        var registration = new ControlStoreRegistration(TransactionLogProvider.PostgreSql, "Luthien.Control.PostgreSql", cs =>
        {
            made++;
            return new PostgreSqlControlStore(cs);
        });
        var stores = new ControlStores(options, [registration]);

        stores.Dispose();

        Assert.That(made, Is.Zero);
    }
}
