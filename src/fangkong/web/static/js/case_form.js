// Offer only the streets of the chosen district (a street decides the function zone).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const district = document.getElementById("f-district");
    const street = document.getElementById("f-street");
    if (!district || !street) return;
    const sync = () => {
      street.querySelectorAll("optgroup").forEach((group) => {
        const other = district.value !== "" && group.dataset.district !== district.value;
        group.hidden = other;
        group.disabled = other;
      });
      const chosen = street.selectedOptions[0];
      if (chosen && chosen.parentElement.disabled) street.value = "";
    };
    district.addEventListener("change", sync);
    sync();
  });
})();
