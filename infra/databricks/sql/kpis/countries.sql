-- Orders and revenue per country, largest revenue first.
SELECT country, sum(orders) AS orders, sum(revenue) AS revenue
FROM gold_daily_sales
GROUP BY country
ORDER BY sum(revenue) DESC, country
LIMIT 12
