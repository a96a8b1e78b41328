// The `shopify` global each target gives the block (as Shopify CLI writes this file).
import "@shopify/ui-extensions";

//@ts-ignore
declare module "./src/Block.jsx" {
  const shopify:
    | import("@shopify/ui-extensions/admin.order-details.block.render").Api
    | import("@shopify/ui-extensions/admin.customer-details.block.render").Api;
  const globalThis: { shopify: typeof shopify };
}
