// <bert-lens>: embed an explanation in any page (README, "Embed it in your docs").
//   <script type="module" src="…/bert-lens.js"></script>
//   <bert-lens src="explanation.json" view="attribution"></bert-lens>
//   <bert-lens model="minilm-intent" text="my card was declined"></bert-lens>

import { BertLens } from './js/element/element.js';

if (!customElements.get('bert-lens')) customElements.define('bert-lens', BertLens);

export { BertLens };
