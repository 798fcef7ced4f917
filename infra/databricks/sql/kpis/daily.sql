-- Orders and revenue per day, the newest 60 days.
SELECT CAST(order_date AS STRING) AS order_date, sum(orders) AS orders, sum(revenue) AS revenue
FROM gold_daily_sales
GROUP BY order_date
ORDER BY order_date DESC
LIMIT 60
