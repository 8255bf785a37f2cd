/** Things registered per owner (an app context): added with a way to take them back, read as a set. */
export function perOwner<Owner extends object, Item>() {
  const items = new WeakMap<Owner, Set<Item>>();
  return {
    /** Registers `item` for `owner`; answers how to take it back. */
    add(owner: Owner, item: Item): () => void {
      const set = items.get(owner) ?? new Set<Item>();
      items.set(owner, set);
      set.add(item);
      return () => void set.delete(item);
    },
    of(owner: Owner): Iterable<Item> {
      return items.get(owner) ?? [];
    },
  };
}
