using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Isolates.Compatibility.Workloads;

/// <summary>A row EF Core maps.</summary>
public sealed class Product
{
    public int Id { get; set; }
    public string Name { get; set; } = string.Empty;
    public decimal Price { get; set; }
}

internal sealed class ShopContext(SqliteConnection connection) : DbContext
{
    public DbSet<Product> Products => Set<Product>();

    protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder) => optionsBuilder.UseSqlite(connection);
}

/// <summary>Databases: SQLite in memory, through ADO.NET, Dapper and EF Core.</summary>
public static class Data
{
    public static Task<string> MicrosoftDataSqlite()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1),(2),(3); SELECT SUM(x) FROM t;";
        long sum = (long)command.ExecuteScalar()!;
        return Task.FromResult(sum == 6 ? "sum 6" : throw new InvalidOperationException($"sum {sum}"));
    }

    public static Task<string> Dapper()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        connection.Execute("CREATE TABLE Product(Id INTEGER PRIMARY KEY, Name TEXT, Price REAL)");
        connection.Execute("INSERT INTO Product(Id, Name, Price) VALUES (@Id, @Name, @Price)",
            Enumerable.Range(1, 10).Select(i => new { Id = i, Name = $"p{i}", Price = i * 2.0 }));
        List<Product> products = [.. connection.Query<Product>("SELECT Id, Name, Price FROM Product WHERE Price > @min", new { min = 5.0 })];
        return Task.FromResult(products.Count == 8 ? "8 rows" : throw new InvalidOperationException($"{products.Count} rows"));
    }

    public static async Task<string> EntityFrameworkCore()
    {
        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync();
        await using (var db = new ShopContext(connection))
        {
            await db.Database.EnsureCreatedAsync();
            db.Products.AddRange(Enumerable.Range(1, 10).Select(i => new Product { Name = $"p{i}", Price = i }));
            await db.SaveChangesAsync();
        }

        await using (var db = new ShopContext(connection))
        {
            int count = await db.Products.Where(p => p.Price > 5).CountAsync();
            return count == 5 ? "5 rows" : throw new InvalidOperationException($"{count} rows");
        }
    }
}
