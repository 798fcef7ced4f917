-- Top products by revenue: gold has no product grain, so this reads the live (non-deleted,
-- non-cancelled) silver lines.
SELECT product_no, max(product_name) AS product_name, sum(quantity) AS units,
       CAST(sum(CAST(price AS DECIMAL(38, 2)) * quantity) AS DECIMAL(38, 2)) AS revenue
FROM silver_order_lines
WHERE NOT _deleted AND NOT is_cancellation
GROUP BY product_no
ORDER BY revenue DESC, product_no
LIMIT 10
