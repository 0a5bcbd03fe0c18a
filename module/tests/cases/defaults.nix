{ services.inventree.enable = true; }
